"""Gateway overhead: end-to-end latency and throughput through the web app (socket.io and REST) beside the
same load sent straight to Rasa's REST channel, in one run (web environment).

    # services running (make run), the web app started with rate limits that allow the load:
    KRISENLOTSE_RATE_LIMIT_ADDRESS=100000 KRISENLOTSE_RATE_LIMIT_SESSION=1000 .venv-web/bin/python -m bot
    .venv-web/bin/python benchmarks/gateway.py --gateway http://127.0.0.1:8080 --rasa http://127.0.0.1:5005

For 1, 20 and 100 concurrent conversations (realistic German dialogues of a few turns each) it prints
p50/p95/p99 latency per message, messages per second and errors for: Rasa directly, the gateway's REST
channel and the gateway's socket.io channel; then the gateway overhead as a ratio at p95. A socket.io
message counts as answered when the server sends ``bot_typing: false`` (after the last ``bot_uttered``).
Bounded: --messages per measurement and --max-seconds per measurement; loopback URLs only by default.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import socketio

DIALOGUES = [
    ["Hallo", "Wie beantrage ich Kurzarbeit?", "und wen rufe ich da an?", "danke"],
    ["Gibt es Soforthilfen für kleine Betriebe?", "wir sind ein Handwerksbetrieb", "Telefonnummer bitte"],
    ["Kann ich die Gewerbesteuer stunden?", "Wie schicke ich eine XRechnung an die Stadt?", "tschüss"],
    ["Ich will ein Gewerbe anmelden", "Brauche ich dafür einen Termin?", "vielen Dank"],
    ["Wie hoch ist das Kurzarbeitergeld bei 12 Mitarbeitern?", "Darf mein Laden geöffnet bleiben?"],
    ["Wir haben einen Liquiditätsengpass und brauchen einen Kredit.", "Wer ist dafür zuständig?"],
    ["Gibt es Förderung für die Digitalisierung?", "Ich möchte mit einem Menschen sprechen"],
]


@dataclass
class Result:
    target: str
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU time per watched process while measured

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def percentile(self, p: int) -> float | None:
        data = sorted(self.latencies_ms)
        if not data:
            return None
        if len(data) == 1:
            return data[0]
        return statistics.quantiles(data, n=100, method="inclusive")[p - 1]

    @property
    def error_rate(self) -> float:
        total = len(self.latencies_ms) + sum(self.errors.values())
        return sum(self.errors.values()) / total if total else 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


Turn = Callable[[str], Awaitable[str | None]]  # sends one message; returns an error kind or None


async def run_conversations(result: Result, workers: int, min_messages: int, deadline: float,
                            open_conversation: Callable[[], Awaitable[tuple[Turn, Callable[[], Awaitable[None]]]]],
                            ) -> None:
    """``workers`` concurrent conversations; each worker starts new ones until at least ``min_messages``
    messages were sent in all (every worker has at least one conversation) or the deadline passes.
    Worker i always runs dialogue i, i+workers, ... so every target gets exactly the same load."""
    sent = 0

    async def worker(index: int) -> None:
        nonlocal sent
        round_no = 0
        while time.monotonic() < deadline and (round_no == 0 or sent < min_messages):
            dialogue = DIALOGUES[(index + round_no * workers) % len(DIALOGUES)]
            round_no += 1
            try:
                turn, close = await open_conversation()
            except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not crash
                result.error(f"connect: {type(exc).__name__}")
                continue
            try:
                for text in dialogue:
                    if time.monotonic() > deadline:
                        return
                    sent += 1
                    started = time.perf_counter()
                    kind = await turn(text)
                    if kind:
                        result.error(kind)
                    else:
                        result.latencies_ms.append((time.perf_counter() - started) * 1000)
            finally:
                await close()

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    result.seconds += time.monotonic() - started


def rest_target(http: aiohttp.ClientSession, url: str, consent: bool, gateway: bool):  # noqa: ANN201
    async def open_conversation() -> tuple[Turn, Callable[[], Awaitable[None]]]:
        sender = "bench-" + secrets.token_hex(12)
        metadata = {"consent": True, "page_url": "https://bench.example/", "page_language": "de"} \
            if consent and gateway else {}

        async def turn(text: str) -> str | None:
            try:
                async with http.post(f"{url}/webhooks/rest/webhook",
                                     json={"sender": sender, "message": text, "metadata": metadata}) as resp:
                    body = await resp.json(content_type=None)
                    if resp.status != 200:
                        return f"HTTP {resp.status}"
                    if not body:
                        return "empty answer"
                    if isinstance(body, list) and any(isinstance(m, dict) and m.get("error") for m in body):
                        return body[0]["error"]
                    return None
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                return type(exc).__name__

        async def close() -> None:
            return None

        return turn, close

    return open_conversation


async def socketio_conversation(url: str, timeout: float, session_prefix: str, metadata: dict,
                                ) -> tuple[str, Turn, Callable[[], Awaitable[None]]]:
    """A socket.io conversation like the widget's: (session id, send one message, close). A message counts
    as answered when the server sends ``bot_typing: false`` (after the last ``bot_uttered``); the turn
    returns the first error code of the answer, "timeout", or None."""
    client = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Queue[str] = asyncio.Queue()
    done: asyncio.Queue[None] = asyncio.Queue()
    errors: list[str] = []

    client.on("session_confirm", lambda sid: confirmed.put_nowait(sid))

    def on_typing(data: object) -> None:
        if isinstance(data, dict) and data.get("typing") is False:
            done.put_nowait(None)

    def on_uttered(data: object) -> None:
        if isinstance(data, dict) and data.get("error"):
            errors.append(str(data["error"]))
            if data["error"] in {"rate_limited", "message_too_long", "invalid_request", "empty_message"}:
                done.put_nowait(None)  # refused before the round trip: no bot_typing follows

    client.on("bot_typing", on_typing)
    client.on("bot_uttered", on_uttered)
    await client.connect(url, socketio_path="/socket.io/", transports=["websocket"], wait_timeout=timeout)
    await client.emit("session_request", {"session_id": session_prefix + secrets.token_hex(12)})
    session_id = await asyncio.wait_for(confirmed.get(), timeout)

    async def turn(text: str) -> str | None:
        errors.clear()
        await client.emit("user_uttered", {"message": text, "session_id": session_id, "metadata": metadata})
        try:
            await asyncio.wait_for(done.get(), timeout)
        except asyncio.TimeoutError:
            return "timeout"
        return errors[0] if errors else None

    async def close() -> None:
        await client.eio.disconnect(abort=True)

    return session_id, turn, close


def socketio_target(url: str, consent: bool, timeout: float):  # noqa: ANN201
    metadata = {"consent": True, "page_url": "https://bench.example/", "page_language": "de"} if consent else {}

    async def open_conversation() -> tuple[Turn, Callable[[], Awaitable[None]]]:
        _session_id, turn, close = await socketio_conversation(url, timeout, "bench-", metadata)
        return turn, close

    return open_conversation


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None when it cannot be read."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_pids(spec: str) -> dict[str, int]:
    """``rasa=123,web=456`` → {"rasa": 123, "web": 456}."""
    pids = {}
    for item in filter(None, (x.strip() for x in spec.split(","))):
        name, _, pid = item.partition("=")
        pids[name.strip()] = int(pid)
    return pids


def print_cpu(results: list[Result]) -> None:
    """CPU time per answered message of each watched process: robust against a busy machine, unlike latency."""
    names = sorted({n for r in results for n in r.cpu_ms})
    if not names:
        return
    print("\nCPU time per answered message (ms), by process:")
    print(f"{'conv':>5}  {'target':<20} " + " ".join(f"{n:>9}" for n in names) + f" {'total':>9}")
    for r in results:
        count = len(r.latencies_ms) or 1
        values = [r.cpu_ms.get(n, 0.0) / count for n in names]
        print(f"{r.concurrency:>5}  {r.target:<20} " + " ".join(f"{v:9.1f}" for v in values) + f" {sum(values):9.1f}")


def fmt(value: float | None) -> str:
    return f"{value:8.1f}" if value is not None else "       -"


def print_table(results: list[Result]) -> None:
    print(f"{'conv':>5}  {'target':<20} {'answered':>8} {'errors':>6}  {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
          f"  {'msg/s':>7}")
    for r in results:
        print(f"{r.concurrency:>5}  {r.target:<20} {len(r.latencies_ms):>8} {sum(r.errors.values()):>6}  "
              f"{fmt(r.percentile(50))} {fmt(r.percentile(95))} {fmt(r.percentile(99))}  {r.rate:7.1f}")
        for kind, count in sorted(r.errors.items()):
            print(f"{'':>7} {'':<20} error {kind}: {count}")


def overhead(results: list[Result]) -> None:
    print("\nGateway overhead at p95 (gateway p95 / Rasa p95; 1.00 = none):")
    for level in sorted({r.concurrency for r in results}):
        row = {r.target: r for r in results if r.concurrency == level}
        base = row.get("rasa (direct)")
        base_p95 = base.percentile(95) if base else None
        parts = []
        for name in ("gateway REST", "gateway socket.io"):
            other = row.get(name)
            p95 = other.percentile(95) if other else None
            if base_p95 and p95:
                parts.append(f"{name} x{p95 / base_p95:.2f} ({p95 - base_p95:+.0f} ms)")
                if abs(other.error_rate - base.error_rate) > 0.05:
                    parts[-1] += " [error rates differ: compare with care]"
        print(f"  {level:>3} conversations: " + ("; ".join(parts) if parts else "not measured"))
    print("  (latency percentiles count answered messages only; errors are listed in the table)")


def check_loopback(url: str, allow_remote: bool) -> None:
    host = urlsplit(url).hostname or ""
    if not allow_remote and host not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit(f"{url} is not on loopback; pass --allow-remote to load a remote service on purpose")


async def main_async(args: argparse.Namespace) -> int:
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    results: list[Result] = []
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=max(levels) * 2 + 10)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        # Warm-up: one message each, so that first-request costs do not count.
        for url in (args.rasa, args.gateway):
            turn, _close = await rest_target(http, url, False, False)()
            problem = await turn("Hallo")
            if problem:
                print(f"Warm-up message to {url} failed: {problem}", file=sys.stderr)
        names = {"rasa": "rasa (direct)", "rest": "gateway REST", "socketio": "gateway socket.io"}
        pids = parse_pids(args.pids)
        for level in levels:
            by_target = {target: Result(names[target], level) for target in targets}
            results.extend(by_target.values())
            # Rounds: every target gets a share of the messages in turn, so that changes in the machine's
            # background load hit all targets alike instead of one of them.
            per_round = max(1, math.ceil(max(args.messages, level) / args.rounds))
            for round_no in range(args.rounds):
                for target in targets:
                    if target == "rasa":
                        opener = rest_target(http, args.rasa, False, False)
                    elif target == "rest":
                        opener = rest_target(http, args.gateway, not args.no_consent, True)
                    else:
                        opener = socketio_target(args.gateway, not args.no_consent, args.timeout)
                    result = by_target[target]
                    print(f"… {level} conversations, {result.target}, round {round_no + 1}/{args.rounds}",
                          file=sys.stderr)
                    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    await run_conversations(result, level, per_round,
                                            time.monotonic() + args.max_seconds / args.rounds, opener)
                    await asyncio.sleep(0.5)  # let background work of this block (tracker look-ups) finish
                    for name, pid in pids.items():
                        after = cpu_seconds(pid)
                        if before[name] is not None and after is not None:
                            result.cpu_ms[name] = result.cpu_ms.get(name, 0.0) + (after - before[name]) * 1000
    print()
    print_table(results)
    overhead(results)
    print_cpu(results)
    if any(r.errors.get("rate_limited") or r.errors.get("HTTP 429") for r in results):
        print("\nThe gateway refused messages with its rate limits: start it with "
              "KRISENLOTSE_RATE_LIMIT_ADDRESS=100000 KRISENLOTSE_RATE_LIMIT_SESSION=1000 for this benchmark.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8080", help="URL of the web app (python -m bot)")
    parser.add_argument("--rasa", default="http://127.0.0.1:5005", help="URL of Rasa (REST channel)")
    parser.add_argument("--levels", default="1,20,100", help="concurrent conversations, comma-separated")
    parser.add_argument("--targets", default="rasa,rest,socketio",
                        help="what to measure: rasa (direct), rest (gateway), socketio (gateway)")
    parser.add_argument("--messages", type=int, default=40,
                        help="at least this many messages per measurement (and one conversation per worker)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit per measurement")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per message")
    parser.add_argument("--rounds", type=int, default=4,
                        help="split each measurement into this many rounds, taking the targets in turn")
    parser.add_argument("--pids", default="",
                        help="processes whose CPU time to count, e.g. rasa=1234,web=5678,actions=91 (Linux)")
    parser.add_argument("--no-consent", action="store_true", help="do not store transcripts in the gateway")
    parser.add_argument("--allow-remote", action="store_true", help="allow URLs that are not on loopback")
    args = parser.parse_args()
    for url in (args.gateway, args.rasa):
        check_loopback(url, args.allow_remote)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
