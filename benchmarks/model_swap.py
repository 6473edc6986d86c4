"""Model swap in a running Rasa (what /ops/models "Aktivieren"/"Zurückrollen" does): swap time and memory.

    .venv-web/bin/python benchmarks/model_swap.py --model-b /path/to/other-model.tar.gz [--swaps 5]

Starts its own action server and Rasa on free loopback ports with model A (default: the active or newest
model in models/), then swaps 5 times between A and B through Rasa's HTTP API (``PUT /model``). For each
swap it prints the swap time — from the PUT request to the first answer given by the new model (checked
with ``GET /status``) — and Rasa's resident memory (VmRSS of the Rasa process) afterwards. Meanwhile a
conversation keeps talking to Rasa (one message every 0.3 s); messages that fail are counted (should be
0: a swap must not drop a conversation) and the slowest answer during the swaps is printed.

Rasa 3.6 loads the model inside its event loop, so it answers nothing while it loads; an action call it had
just opened reaches the action server only afterwards. With Sanic's default keep-alive time-out (5 s) the
action server has closed that connection by then and the answer is lost ("Cannot write to closing
transport"); ``make run`` therefore sets SANIC_KEEP_ALIVE_TIMEOUT=75 (``--keep-alive 0`` shows the problem).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.latency import rss_mb  # noqa: E402
from tools import stack  # noqa: E402
from tools.run import active_model  # noqa: E402


async def status(session: aiohttp.ClientSession, url: str, token: str) -> dict:
    async with session.get(f"{url}/status", params={"token": token}) as resp:
        return await resp.json()


async def talk(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, stats: dict) -> None:
    """A conversation that goes on during the swaps."""
    n = 0
    while not stop.is_set():
        n += 1
        start = time.perf_counter()
        problem = None
        try:
            async with session.post(f"{url}/webhooks/rest/webhook",
                                    json={"sender": "swap-bench", "message": "Wie beantrage ich Kurzarbeit?"},
                                    timeout=aiohttp.ClientTimeout(total=120)) as resp:
                text = await resp.text()
                if resp.status != 200 or text.strip() in ("", "[]"):
                    problem = f"HTTP {resp.status}: {text[:200]!r}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        stats["sent"] += 1
        if problem:
            stats["failed"] += 1
            stats["problems"].append(f"message {n}: {problem}")
        stats["slowest"] = max(stats["slowest"], time.perf_counter() - start)
        await asyncio.sleep(0.3)


async def swap(session: aiohttp.ClientSession, url: str, token: str, model: Path) -> float:
    start = time.perf_counter()
    async with session.put(f"{url}/model", params={"token": token}, json={"model_file": str(model)},
                           timeout=aiohttp.ClientTimeout(total=600)) as resp:
        assert resp.status == 204, f"PUT /model answered {resp.status}: {await resp.text()}"
    while True:
        async with session.post(f"{url}/webhooks/rest/webhook",
                                json={"sender": f"swap-{model.name}", "message": "Hallo"}) as resp:
            answered = resp.status == 200 and bool(await resp.json())
        if answered and (await status(session, url, token))["model_file"] == model.name:
            return time.perf_counter() - start
        await asyncio.sleep(0.05)


async def run(url: str, token: str, pid: int, model_a: Path, model_b: Path, swaps: int) -> int:
    async with aiohttp.ClientSession() as session:
        before = rss_mb(pid)
        print(f"Rasa (pid {pid}) with {model_a.name}: RSS {before:.0f} MB before the first swap")
        stop, stats = asyncio.Event(), {"sent": 0, "failed": 0, "slowest": 0.0, "problems": []}
        talker = asyncio.create_task(talk(session, url, stop, stats))
        times, memory = [], []
        for i in range(swaps):
            model = model_b if i % 2 == 0 else model_a
            seconds = await swap(session, url, token, model)
            await asyncio.sleep(2)  # let the old model's memory go
            times.append(seconds)
            memory.append(rss_mb(pid) or 0.0)
            print(f"swap {i + 1}: → {model.name:40} {seconds:6.1f} s   RSS {memory[-1]:.0f} MB")
        stop.set()
        await talker
    print(f"\nswap time: median {statistics.median(times):.1f} s, max {max(times):.1f} s")
    print(f"RSS: {before:.0f} MB before, {memory[-1]:.0f} MB after {swaps} swaps "
          f"(growth {memory[-1] - before:+.0f} MB; after swap 2: {memory[min(1, len(memory) - 1)]:.0f} MB)")
    print(f"conversation during the swaps: {stats['sent']} messages, {stats['failed']} failed, "
          f"slowest answer {stats['slowest']:.1f} s")
    for problem in stats["problems"]:
        print(f"  failed: {problem}")
    return 0 if stats["failed"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Swap time and Rasa memory over model swaps (PUT /model)")
    parser.add_argument("--model-a", type=Path, default=None, help="default: models/active.txt or newest model")
    parser.add_argument("--model-b", type=Path, required=True, help="a second model (e.g. from /ops/models)")
    parser.add_argument("--swaps", type=int, default=5)
    parser.add_argument("--keep-alive", type=int, default=75, metavar="SECONDS",
                        help="Sanic keep-alive time-out of the action server (as make run sets it; 0: Sanic's "
                             "default of 5 s, which loses action calls made during a swap)")
    parser.add_argument("--rasa-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for Rasa, e.g. MALLOC_ARENA_MAX=2 (repeatable)")
    args = parser.parse_args(argv)
    model_a = args.model_a or active_model() or stack.latest_model()
    if model_a is None or not model_a.is_file() or not args.model_b.is_file():
        parser.error("two model files are needed (--model-a, --model-b)")
    model_a, model_b = model_a.resolve(), args.model_b.resolve()  # Rasa runs in another folder
    if model_a.name == model_b.name:
        parser.error("the two models need different file names (Rasa reports the file name)")
    if args.keep_alive:
        os.environ["SANIC_KEEP_ALIVE_TIMEOUT"] = str(args.keep_alive)
    with tempfile.TemporaryDirectory(prefix="krisenlotse-swap-") as tmp_name:
        tmp = Path(tmp_name)
        token, actions_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        actions_port, rasa_port = stack.free_port(), stack.free_port()
        endpoints = stack.write_endpoints(tmp / "endpoints.yml", actions_port, actions_token, tmp / "tracker.db")
        actions = stack.actions_service(actions_port, actions_token, tmp, outbox_db=tmp / "outbox.db")
        extra = dict(item.split("=", 1) for item in args.rasa_env)
        rasa = stack.rasa_service(rasa_port, token, model_a, endpoints, tmp, extra_env=extra)
        actions.start()
        rasa.start()
        try:
            actions.wait_ready(120)
            rasa.wait_ready(300, stack.model_loaded)
            assert rasa.proc is not None
            code = asyncio.run(run(f"http://127.0.0.1:{rasa_port}", token, rasa.proc.pid, model_a, model_b,
                                   args.swaps))
            if code:
                for service in (rasa, actions):
                    lines = [line for line in service.tail(4000).splitlines()
                             if any(word in line for word in ("ERROR", "Exception", "Error", "WARNING"))]
                    print(f"\n{service.name} log, errors and warnings:\n" + "\n".join(lines[-20:]))
            return code
        finally:
            rasa.stop()
            actions.stop()


if __name__ == "__main__":
    sys.exit(main())
