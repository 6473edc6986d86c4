"""Latency and throughput of the assistant through Rasa's REST channel (run in the web environment).

    .venv-web/bin/python benchmarks/latency.py                 # starts its own stack on free ports
    .venv-web/bin/python benchmarks/latency.py --url http://127.0.0.1:5005 --token "$KRISENLOTSE_RASA_TOKEN"

For 1 and 20 concurrent conversations (each a realistic German dialogue of a few turns), prints p50/p95
latency per message, messages per second, errors, and the Rasa server's resident memory. Bounded in
message count and time; talks to loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import stack  # noqa: E402

DIALOGUES = [
    ["Hallo", "Wie beantrage ich Kurzarbeit?", "und wen rufe ich da an?", "danke"],
    ["Gibt es Soforthilfen für kleine Betriebe?", "wir sind ein Handwerksbetrieb", "Telefonnummer bitte"],
    ["Kann ich die Gewerbesteuer stunden?", "Wie schicke ich eine XRechnung an die Stadt?", "tschüss"],
    ["Ich will ein Gewerbe anmelden", "Brauche ich dafür einen Termin?", "vielen Dank"],
    ["Wie hoch ist das Kurzarbeitergeld bei 12 Mitarbeitern?", "Darf mein Laden geöffnet bleiben?"],
]


def rss_mb(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process and its children (Rasa may fork)."""
    if not pid:
        return None
    total = rss_mb(pid) or 0.0
    for child in Path("/proc").glob("[0-9]*"):
        try:
            if Path(child, "stat").read_text().split()[3] == str(pid):
                total += rss_mb(int(child.name)) or 0.0
        except (OSError, IndexError):
            continue
    return total


async def conversation(session: aiohttp.ClientSession, url: str, turns: list[str], lat: list[float],
                       errors: list[str]) -> None:
    sender = "bench-" + secrets.token_hex(6)
    for text in turns:
        start = time.perf_counter()
        try:
            async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as resp:
                body = await resp.json()
                if resp.status != 200 or not body:
                    errors.append(f"{resp.status}: {str(body)[:80]}")
                    continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            errors.append(type(exc).__name__)
            continue
        lat.append((time.perf_counter() - start) * 1000)


async def run_level(url: str, concurrency: int, conversations: int) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await conversation(session, url, ["Hallo"], [], [])  # warm-up

        async def one(i: int) -> None:
            async with sem:
                await conversation(session, url, DIALOGUES[i % len(DIALOGUES)], lat, errors)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(conversations)))
        elapsed = time.perf_counter() - start
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0.0] * 99
    return {"concurrency": concurrency, "messages": len(lat), "errors": len(errors), "seconds": elapsed,
            "p50": q[49], "p95": q[94], "rps": len(lat) / elapsed if elapsed else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Rasa base URL (default: start a stack on free ports)")
    parser.add_argument("--pid", type=int, help="PID of the Rasa server, for memory figures")
    parser.add_argument("--conversations", type=int, default=60)
    args = parser.parse_args(argv)

    services: list[stack.Service] = []
    url, pid = args.url, args.pid
    if not url:
        model = stack.latest_model()
        if not model:
            print("no trained model: run `make train`", file=sys.stderr)
            return 2
        tmp = Path(tempfile.mkdtemp(prefix="kl-bench-"))
        token, atoken = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        aport, rport = stack.free_port(), stack.free_port()
        endpoints = stack.write_endpoints(tmp / "endpoints.yml", aport, atoken, tmp / "tracker.db")
        actions = stack.actions_service(aport, atoken, tmp)
        rasa = stack.rasa_service(rport, token, model, endpoints, tmp)
        services = [actions, rasa]
        t0 = time.perf_counter()
        actions.start()
        rasa.start()
        actions.wait_ready(120)
        rasa.wait_ready(300, stack.model_loaded)
        print(f"Rasa start-up (process start to model loaded): {time.perf_counter() - t0:.1f} s")
        url, pid = f"http://127.0.0.1:{rport}", rasa.proc.pid
    try:
        print(f"Rasa resident memory before: {tree_rss_mb(pid) or float('nan'):.0f} MB")
        print(f"{'conc':>5} {'msgs':>6} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>7}")
        for level in (1, 20):
            n = args.conversations if level > 1 else max(10, args.conversations // 6)
            r = asyncio.run(run_level(url, level, n))
            print(f"{r['concurrency']:>5} {r['messages']:>6} {r['errors']:>4} {r['p50']:>8.1f} {r['p95']:>8.1f} "
                  f"{r['rps']:>7.1f}")
        print(f"Rasa resident memory after: {tree_rss_mb(pid) or float('nan'):.0f} MB")
    finally:
        for svc in reversed(services):
            svc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
