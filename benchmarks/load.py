"""Load test through the gateway: N concurrent conversations over socket.io and REST with think time,
realistic German dialogues; p50/p95/p99 latency, messages per second, errors, lost messages, and the
resident memory of each process before and after (web environment).

    # against whatever is running (make run, the production profile, …): URLs and the processes to watch
    .venv-web/bin/python benchmarks/load.py --gateway http://127.0.0.1:8080 \
        --proc rasa=name:"rasa run" --proc web=name:"-m bot" --proc actions=name:actions.server
    # the 5-minute soak (20 conversations, memory every 30 s)
    .venv-web/bin/python benchmarks/load.py --gateway http://127.0.0.1:8080 --soak --proc rasa=1234
    # side by side in one run, each started here on free ports one after the other: the embedded default
    # profile, the production-like profile (2 Rasa workers, Redis lock store) and a plain `rasa init` bot
    .venv-web/bin/python benchmarks/load.py --compare

The gateway must allow the load (start it with KRISENLOTSE_RATE_LIMIT_ADDRESS=10000000 and
KRISENLOTSE_RATE_LIMIT_SESSION=100000; the stacks started here do that). "Lost" counts messages that were
sent with consent but are missing from the conversation's stored history afterwards, or have no answer
stored after them. Loopback URLs only unless --allow-remote.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import common  # noqa: E402
from benchmarks.gateway import DIALOGUES, Result, check_loopback, socketio_conversation  # noqa: E402
from tools import stack  # noqa: E402

METADATA = {"consent": True, "page_url": "https://www.mannheim.de/wirtschaft", "page_language": "de"}
Turn = Callable[[str], Awaitable[str | None]]


@dataclass
class Conversation:
    session_id: str
    turn: Turn
    close: Callable[[], Awaitable[None]]


@dataclass
class Run:
    result: Result
    sent: dict[str, int] = field(default_factory=dict)  # session id -> messages answered without error
    lost: int = 0
    checked: int = 0


def rest_opener(http: aiohttp.ClientSession, url: str, gateway: bool,
                empty_ok: bool = False) -> Callable[[], Awaitable[Conversation]]:
    """``empty_ok``: an empty list is an answer (the `rasa init` bot has nothing to say to much of our
    German; its Rasa still did all the work)."""

    async def open_conversation() -> Conversation:
        session_id = "load-" + secrets.token_hex(12)
        metadata = METADATA if gateway else {}

        async def turn(text: str) -> str | None:
            try:
                async with http.post(f"{url}/webhooks/rest/webhook",
                                     json={"sender": session_id, "message": text, "metadata": metadata}) as resp:
                    body = await resp.json(content_type=None)
                    if resp.status != 200:
                        return f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                return type(exc).__name__
            if not body and not (empty_ok and isinstance(body, list)):
                return "empty answer"
            errors = [m.get("error") for m in body if isinstance(m, dict) and m.get("error")]
            return str(errors[0]) if errors else None

        async def close() -> None:
            return None

        return Conversation(session_id, turn, close)

    return open_conversation


def socketio_opener(url: str, timeout: float) -> Callable[[], Awaitable[Conversation]]:
    async def open_conversation() -> Conversation:
        return Conversation(*await socketio_conversation(url, timeout, "load-", METADATA))

    return open_conversation


async def run_load(run: Run, conversations: int, seconds: float, think: float,
                   opener: Callable[[], Awaitable[Conversation]], ramp: float = 2.0) -> None:
    """``conversations`` users, each talking through dialogues with ``think`` seconds (mean, uniform
    0.5-1.5x) between messages, until ``seconds`` have passed. Start-ups are spread over ``ramp`` s."""
    result = run.result
    deadline = time.monotonic() + seconds

    async def user(index: int) -> None:
        await asyncio.sleep(ramp * index / max(conversations, 1))
        rng = random.Random(index)  # noqa: S311 - load shape, not security
        round_no = 0
        while time.monotonic() < deadline:
            dialogue = DIALOGUES[(index + round_no) % len(DIALOGUES)]
            round_no += 1
            try:
                conv = await opener()
            except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not crash
                result.error(f"connect: {type(exc).__name__}")
                await asyncio.sleep(1)
                continue
            try:
                for text in dialogue:
                    if time.monotonic() > deadline:
                        return
                    started = time.perf_counter()
                    kind = await conv.turn(text)
                    if kind:
                        result.error(kind)
                    else:
                        result.latencies_ms.append((time.perf_counter() - started) * 1000)
                        run.sent[conv.session_id] = run.sent.get(conv.session_id, 0) + 1
                    if think:
                        await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            finally:
                await conv.close()

    started = time.monotonic()
    await asyncio.gather(*(user(i) for i in range(conversations)))
    result.seconds = time.monotonic() - started


async def count_lost(http: aiohttp.ClientSession, gateway: str, run: Run) -> None:
    """Every answered message of a consented conversation must be stored, delivered and answered."""
    sem = asyncio.Semaphore(10)

    async def check(session_id: str, expected: int) -> int:
        async with sem, http.get(f"{gateway}/api/v1/conversations/{session_id}/messages") as resp:
            if resp.status != 200:
                return expected
            messages = (await resp.json())["messages"]
        users = [m for m in messages if m["sender"] == "user" and m.get("delivered", True)]
        answered = sum(1 for i, m in enumerate(messages) if m["sender"] == "user"
                       and i + 1 < len(messages) and messages[i + 1]["sender"] == "bot")
        return max(0, expected - len(users)) + max(0, expected - answered)

    missing = await asyncio.gather(*(check(s, n) for s, n in run.sent.items()))
    run.lost = sum(missing)
    run.checked = sum(run.sent.values())


def print_memory(title: str, before: dict[str, float | None], after: dict[str, float | None]) -> None:
    if not before:
        return
    print(f"\nResident memory ({title}; process and its children):")
    for label in before:
        b, a = before.get(label), after.get(label)
        fb = f"{b:7.0f} MB" if b is not None else "      gone"
        fa = f"{a:7.0f} MB" if a is not None else "      gone"
        print(f"  {label:<24} before {fb}   after {fa}")


async def measure(name: str, gateway: str | None, rasa: str | None, processes: dict[str, int],
                  args: argparse.Namespace) -> list[Result]:
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=max(levels) * 2 + 20)
    results: list[Result] = []
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        for url in filter(None, (gateway, rasa)):  # warm-up: first-request costs do not count
            conv = await rest_opener(http, url, url == gateway)()
            await conv.turn("Hallo")
        memory_before = common.memory_table(processes)
        for level in levels:
            for target in targets:
                if target == "rasa" and not rasa or target in {"rest", "socketio"} and not gateway:
                    continue
                label = {"rasa": "Rasa direct", "rest": "gateway REST", "socketio": "gateway socket.io"}[target]
                opener = (rest_opener(http, rasa, False, empty_ok=args.empty_ok) if target == "rasa" else
                          rest_opener(http, gateway, True) if target == "rest" else
                          socketio_opener(gateway, args.timeout))
                run = Run(Result(f"{name}: {label}"[:38], level))
                print(f"… {name}: {level} conversations, {label}, {args.seconds:g} s, think {args.think:g} s",
                      file=sys.stderr, flush=True)
                samples: list[tuple[float, dict[str, float | None]]] = []
                sampler = asyncio.create_task(sample_memory(processes, samples, args.sample_every)) \
                    if args.soak else None
                await run_load(run, level, args.seconds, args.think, opener)
                if sampler:
                    sampler.cancel()
                if gateway and target != "rasa":
                    await count_lost(http, gateway, run)
                    run.result.errors.update({"lost (not stored/answered)": run.lost} if run.lost else {})
                results.append(run.result)
                if samples:
                    print(f"\nMemory during the soak ({name}, {label}):")
                    for at, mem in samples:
                        print(f"  {at:6.0f} s  " + "  ".join(f"{k} {v:.0f} MB" for k, v in mem.items() if v))
        memory_after = common.memory_table(processes)
    print_memory(name, memory_before, memory_after)
    return results


async def sample_memory(processes: dict[str, int], samples: list, every: float) -> None:
    started = time.monotonic()
    while True:
        samples.append((time.monotonic() - started, common.memory_table(processes)))
        await asyncio.sleep(every)


def summary(results: list[Result]) -> None:
    print()
    width = max(len(r.target) for r in results) if results else 20
    header = f"{'conv':>5}  {'target':<{width}} {'answered':>8} {'errors':>6}  {'p50 ms':>8} {'p95 ms':>8} " \
             f"{'p99 ms':>8}  {'msg/s':>7}"
    print(header)
    for r in results:
        cells = [r.percentile(p) for p in (50, 95, 99)]
        print(f"{r.concurrency:>5}  {r.target:<{width}} {len(r.latencies_ms):>8} {sum(r.errors.values()):>6}  "
              + " ".join(f"{c:8.1f}" if c is not None else "       -" for c in cells) + f"  {r.rate:7.1f}")
        for kind, count in sorted(r.errors.items()):
            print(f"{'':>7} {'':<{width}} error {kind}: {count}")


# --- side by side: stacks started here ------------------------------------------------------------------

def production_like(model: Path, log_dir: Path) -> common.Stack:
    """Two Rasa workers (SANIC_WORKERS=2) need a Redis lock store; the tracker stays in SQLite here."""
    prefix = "klload" + secrets.token_hex(4)
    return common.start_stack(model, log_dir, rasa_env={"SANIC_WORKERS": "2"}, endpoints_extra=(
        f"lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: 6379\n  key_prefix: {prefix}\n"))


def production(model: Path, log_dir: Path) -> common.Stack:
    """The production profile (KRISENLOTSE_PROFILE=production): PostgreSQL for Rasa's tracker store and the
    web app, Redis lock store, socket.io queue and rate limits, 2 Rasa workers — on throw-away databases
    (kl_load_*, left for inspection; drop them with `dropdb`) and Redis key prefixes."""
    suffix = secrets.token_hex(4)
    prod = dataclasses.replace(stack.Production.from_env(), web_db=f"kl_load_web_{suffix}",
                               rasa_db=f"kl_load_rasa_{suffix}", prefix=f"klload{suffix}")
    return common.start_stack(model, log_dir, rasa_env={"SANIC_WORKERS": "2"}, production=prod)


def rasa_init_reference(workdir: Path) -> tuple[str, stack.Service]:
    """A plain bot from ``rasa init`` (its own small model), served on a free port: the reference."""
    rasa = str(stack.RASA_VENV / "bin" / "rasa")
    print("… rasa init (trains the default bot; about a minute)", file=sys.stderr, flush=True)
    subprocess.run([rasa, "init", "--no-prompt", "--init-dir", str(workdir)], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=stack.base_env(), timeout=1200)
    model = sorted((workdir / "models").glob("*.tar.gz"))[-1]
    port = stack.free_port()
    service = stack.Service("rasa init", [rasa, "run", "-i", "127.0.0.1", "-p", str(port), "--enable-api",
                                          "--model", str(model)], stack.base_env(), workdir / "rasa.log",
                            f"http://127.0.0.1:{port}/status", cwd=workdir)
    service.start()
    service.wait_ready(400, stack.model_loaded)
    return f"http://127.0.0.1:{port}", service


async def compare(args: argparse.Namespace) -> list[Result]:
    model = args.model or stack.latest_model()
    if model is None:
        sys.exit("no trained model: run `make train`")
    results: list[Result] = []
    base = Path(tempfile.mkdtemp(prefix="kl-load-"))
    try:
        for name, start in (("embedded", lambda d: common.start_stack(model, d)),
                            ("production-like", lambda d: production_like(model, d)),
                            ("production", lambda d: production(model, d))):
            if name not in args.profiles:
                continue
            log_dir = base / name
            log_dir.mkdir()
            print(f"… starting the {name} profile", file=sys.stderr, flush=True)
            started = start(log_dir)
            print(f"{name}: start-up to model loaded {started.startup_seconds:.1f} s", flush=True)
            try:
                results += await measure(name, started.gateway_url, started.rasa_url,
                                         {f"{name} {k}": v for k, v in started.pids().items()}, args)
            finally:
                started.stop()
        if "rasa-init" in args.profiles:
            workdir = base / "rasa-init"
            workdir.mkdir()
            url, service = rasa_init_reference(workdir)
            try:
                saved = args.targets, args.empty_ok
                args.targets, args.empty_ok = "rasa", True
                results += await measure("rasa init", None, url, {"rasa init": service.proc.pid}, args)
                args.targets, args.empty_ok = saved
            finally:
                service.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", help="URL of the web app")
    parser.add_argument("--rasa", help="URL of Rasa's REST channel (target 'rasa')")
    parser.add_argument("--proc", action="append", default=[],
                        help="process to watch: label=PID or label=name:FRAGMENT of its command line (repeat)")
    parser.add_argument("--levels", default="20,200", help="concurrent conversations, comma-separated")
    parser.add_argument("--targets", default="rest,socketio",
                        help="rest, socketio (through the gateway), rasa (Rasa direct), comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each measurement")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between messages (s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per message")
    parser.add_argument("--soak", action="store_true", help="5 minutes at 20 conversations, memory every 30 s")
    parser.add_argument("--sample-every", type=float, default=30.0, help="memory sampling in the soak (s)")
    parser.add_argument("--compare", action="store_true",
                        help="start and measure each profile in turn (embedded, production-like, production, "
                             "rasa-init)")
    parser.add_argument("--profiles", default="embedded,production,rasa-init",
                        help="with --compare: embedded, production (PostgreSQL + Redis + 2 Rasa workers), "
                             "production-like (2 workers + Redis lock store, SQLite tracker), rasa-init")
    parser.add_argument("--model", type=Path, help="model for --compare (default: newest in models/)")
    parser.add_argument("--empty-ok", action="store_true", help="count empty answers of Rasa as answers")
    parser.add_argument("--allow-remote", action="store_true", help="allow URLs that are not on loopback")
    args = parser.parse_args()
    if args.soak:
        args.levels, args.seconds = "20", 300.0
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if args.compare:
        results = asyncio.run(compare(args))
    else:
        if not args.gateway and not args.rasa:
            parser.error("give --gateway and/or --rasa, or --compare")
        for url in filter(None, (args.gateway, args.rasa)):
            check_loopback(url, args.allow_remote)
        processes = common.resolve_processes(args.proc)
        missing = [p for p in args.proc if not any(p.startswith(label) for label in processes)]
        if missing:
            print(f"no such process: {', '.join(missing)}", file=sys.stderr)
        if args.rasa and "rasa" not in args.targets:
            args.targets += ",rasa"
        results = asyncio.run(measure("run", args.gateway, args.rasa, processes, args))
    summary(results)
    print("\nGoals (2 cores): 20 conversations p95 <= 250 ms and >= 100 msg/s; 200 conversations: no errors, "
          "nothing lost; Rasa <= 1 GB resident.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
