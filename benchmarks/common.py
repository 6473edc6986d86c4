"""Shared helpers of the benchmarks (standard library only): start a throw-away stack on free loopback
ports and read the resident memory of processes, by pid or by name.

    .venv-web/bin/python benchmarks/common.py serve      # action server + Rasa + web app; Ctrl-C stops

``serve`` prints the URLs and process ids (for ``benchmarks/load.py --gateway … --pids …``). The web app is
started with rate limits that let a load test through. Extra environment for Rasa (e.g. TF threads) can be
given as ``--rasa-env NAME=VALUE``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import stack  # noqa: E402

# Rate limits that a load test from one address and a few sessions does not hit.
LOAD_RATE_LIMITS = {"KRISENLOTSE_RATE_LIMIT_ADDRESS": "10000000", "KRISENLOTSE_RATE_LIMIT_SESSION": "100000"}


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process in MB (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _parent(pid: int) -> int | None:
    try:
        # the command name (field 2) may contain spaces: parse after the closing parenthesis
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of a process and all its descendants (Rasa with SANIC_WORKERS forks workers)."""
    if rss_mb(pid) is None:
        return None
    parents = {p: _parent(p) for p in _all_pids()}
    tree, frontier = {pid}, [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss_mb(p) or 0.0 for p in tree)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def pids_named(fragment: str) -> list[int]:
    """Processes whose command line contains ``fragment`` (only the top of each process tree)."""
    me = os.getpid()
    found = [p for p in _all_pids() if p != me and fragment in cmdline(p)]
    return [p for p in found if _parent(p) not in found]


def resolve_processes(specs: list[str]) -> dict[str, int]:
    """``label=pid``, ``pid`` or ``label=name:FRAGMENT`` → {label: pid} (a name may match several)."""
    out: dict[str, int] = {}
    for spec in specs:
        label, _, what = spec.rpartition("=")
        if what.startswith("name:"):
            for i, pid in enumerate(pids_named(what[5:])):
                out[f"{label or what[5:]}#{i + 1}" if i else (label or what[5:])] = pid
        elif what.isdigit():
            out[label or what] = int(what)
    return out


def memory_table(processes: Mapping[str, int]) -> dict[str, float | None]:
    return {label: tree_rss_mb(pid) for label, pid in processes.items()}


@dataclass
class Stack:
    """Action server + Rasa (+ web app) on free loopback ports, for a benchmark."""

    rasa_url: str
    actions_url: str
    gateway_url: str | None
    rasa_token: str
    services: list[stack.Service] = field(default_factory=list)
    startup_seconds: float = 0.0

    def pids(self) -> dict[str, int]:
        return {svc.name: svc.proc.pid for svc in self.services if svc.proc is not None}

    def stop(self) -> None:
        for svc in reversed(self.services):
            svc.stop()


def start_stack(model: Path, log_dir: Path | None = None, *, web: bool = True,
                rasa_env: Mapping[str, str] | None = None, web_env: Mapping[str, str] | None = None,
                rasa_argv: list[str] | None = None, endpoints_extra: str = "",
                production: stack.Production | None = None) -> Stack:
    """Start the services and wait until Rasa has loaded ``model``; raises stack.StackError.
    ``endpoints_extra`` is appended to Rasa's endpoints file (e.g. a Redis lock store). ``production``: the
    production profile itself (endpoints.production.yml: PostgreSQL tracker store, Redis lock store; the web
    app on PostgreSQL and Redis), with the databases and prefixes it names (created if missing)."""
    tmp = log_dir or Path(tempfile.mkdtemp(prefix="kl-bench-"))
    token, atoken, itoken = (secrets.token_urlsafe(24) for _ in range(3))
    aport, rport, wport = stack.free_port(), stack.free_port(), stack.free_port()
    if production is None:
        endpoints = stack.write_endpoints(tmp / "endpoints.yml", aport, atoken, tmp / "tracker.db",
                                          endpoints_extra)
    else:
        production.ensure_databases()
        endpoints = stack.PRODUCTION_ENDPOINTS
        rasa_env = {**production.rasa_env(aport), "KRISENLOTSE_ACTIONS_TOKEN": atoken, **dict(rasa_env or {})}
        web_env = {**production.web_env(), **dict(web_env or {})}
    actions = stack.actions_service(aport, atoken, tmp, internal_token=itoken,
                                    web_internal_url=f"http://127.0.0.1:{wport}", outbox_db=tmp / "outbox.db")
    rasa = stack.rasa_service(rport, token, model, endpoints, tmp, extra_env=rasa_env)
    if rasa_argv:
        rasa.argv.extend(rasa_argv)
    services = [actions, rasa]
    gateway_url = None
    if web:
        env = {
            "KRISENLOTSE_PORT": str(wport), "KRISENLOTSE_RASA_URL": f"http://127.0.0.1:{rport}",
            "KRISENLOTSE_ACTIONS_URL": f"http://127.0.0.1:{aport}", "KRISENLOTSE_RASA_TOKEN": token,
            "KRISENLOTSE_SECRET_KEY": secrets.token_urlsafe(32), "KRISENLOTSE_INTERNAL_TOKEN": itoken,
            "KRISENLOTSE_ACTIONS_TOKEN": atoken,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'krisenlotse.db'}",
            "KRISENLOTSE_RASA_TRACKER_DB": f"sqlite:///{tmp / 'tracker.db'}",
            **LOAD_RATE_LIMITS, **dict(web_env or {}),
        }
        services.append(stack.web_service(wport, env, tmp))
        gateway_url = f"http://127.0.0.1:{wport}"
    result = Stack(f"http://127.0.0.1:{rport}", f"http://127.0.0.1:{aport}", gateway_url, token, services)
    started = time.perf_counter()
    try:
        for svc in services:
            svc.start()
        actions.wait_ready(120)
        rasa.wait_ready(400, stack.model_loaded)
        result.startup_seconds = time.perf_counter() - started
        if web:
            services[-1].wait_ready(120)
    except BaseException:
        result.stop()
        raise
    return result


def parse_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description="Start a throw-away stack for benchmarks; Ctrl-C stops it")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--model", type=Path, default=None, help="model (default: newest in models/)")
    parser.add_argument("--rasa-env", action="append", default=[], help="NAME=VALUE for Rasa's environment")
    parser.add_argument("--no-web", action="store_true", help="only the action server and Rasa")
    args = parser.parse_args()
    model = args.model or stack.latest_model()
    if model is None:
        print("no trained model: run `make train`", file=sys.stderr)
        return 2
    started = start_stack(model, web=not args.no_web, rasa_env=parse_env(args.rasa_env))
    print(f"Rasa {started.rasa_url} (start-up {started.startup_seconds:.1f} s), action server "
          f"{started.actions_url}, gateway {started.gateway_url}", flush=True)
    print("pids: " + " ".join(f"{name.replace(' ', '_')}={pid}" for name, pid in started.pids().items()),
          flush=True)
    print(f"token: {started.rasa_token}", flush=True)
    return stack.main_wait_forever(started.services)


if __name__ == "__main__":
    sys.exit(main())
