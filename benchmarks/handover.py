"""Live handover latency: time from the entrepreneur's message (widget socket.io ``user_uttered``) to the
staff console receiving it (``live_message`` on the ``/staff`` namespace), under 20 concurrent live chats.

    .venv-web/bin/python benchmarks/handover.py --url http://127.0.0.1:8080 \\
        --email staff@mannheim.de --password-stdin < password.txt

Against a running web app (``python -m bot``) on loopback. Needs a staff account of ``--unit`` (default
tax_office; ``python -m bot users add ...``) and KRISENLOTSE_INTERNAL_TOKEN (environment or var/secrets.env).
Cases are created through the internal API, taken over live through the console, then every chat sends
``--messages`` messages. Rasa is never involved (the conversations are live). Prints p50/p95/max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def internal_token() -> str:
    token = os.environ.get("KRISENLOTSE_INTERNAL_TOKEN")
    if token:
        return token
    secrets_file = ROOT / "var" / "secrets.env"
    if secrets_file.exists():
        for line in secrets_file.read_text().splitlines():
            if line.startswith("KRISENLOTSE_INTERNAL_TOKEN="):
                return line.split("=", 1)[1].strip().strip('"')
    sys.exit("KRISENLOTSE_INTERNAL_TOKEN is not set and not in var/secrets.env")


async def login(http: aiohttp.ClientSession, url: str, email: str, password: str) -> tuple[str, str]:
    """(session cookie value, CSRF token) of a console session."""
    async with http.get(f"{url}/login") as resp:
        token = CSRF.search(await resp.text()).group(1)
    async with http.post(f"{url}/login", data={"email": email, "password": password, "csrf_token": token},
                         allow_redirects=False) as resp:
        if resp.status != 303:
            sys.exit(f"login failed: HTTP {resp.status}")
    cookie = next(c.value for c in http.cookie_jar if c.key == "kl_staff")
    async with http.get(f"{url}/staff") as resp:
        csrf = CSRF.search(await resp.text()).group(1)
    return cookie, csrf


async def run(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/")
    token = internal_token()
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=30)) as http:
        cookie, csrf = await login(http, url, args.email, args.password)
        console = socketio.AsyncClient(reconnection=False)
        sent: dict[str, float] = {}
        latencies: list[float] = []
        all_seen = asyncio.Event()
        expected = args.chats * args.messages

        @console.on("live_message", namespace="/staff")
        async def on_live(data: dict) -> None:
            text = (data.get("message") or {}).get("text") or ""
            start = sent.pop(text, None)
            if start is not None:
                latencies.append(time.perf_counter() - start)
                if len(latencies) >= expected:
                    all_seen.set()

        await console.connect(url, socketio_path="/socket.io/", transports=["websocket"], namespaces=["/staff"],
                              headers={"Cookie": f"kl_staff={cookie}"})
        widgets: list[tuple[socketio.AsyncClient, str]] = []
        for _ in range(args.chats):
            session_id = uuid.uuid4().hex
            async with http.post(f"{url}/api/v1/consent", json={"session_id": session_id}) as resp:
                assert resp.status == 204, resp.status
            number = f"KL-{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}"
            case = {"case_number": number, "session_id": session_id, "unit": args.unit, "priority": "normal",
                    "trigger": "human_handoff", "contact": {"email": "bench@example.org", "consent": True},
                    "description": "Benchmark"}
            async with http.post(f"{url}/internal/v1/cases", json=case,
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status in (200, 201), await resp.text()
            async with http.post(f"{url}/staff/cases/{number}/live", data={"csrf_token": csrf},
                                 allow_redirects=False) as resp:
                assert resp.status == 303, resp.status
            widget = socketio.AsyncClient(reconnection=False)
            await widget.connect(url, socketio_path="/socket.io/", transports=["websocket"])
            await widget.emit("session_request", {"session_id": session_id})
            widgets.append((widget, session_id))
        await asyncio.sleep(0.5)

        async def chat(widget: socketio.AsyncClient, session_id: str, index: int) -> None:
            for n in range(args.messages):
                text = f"Nachricht {index}-{n} {uuid.uuid4().hex[:8]}"
                sent[text] = time.perf_counter()
                await widget.emit("user_uttered", {"message": text, "session_id": session_id,
                                                   "metadata": {"consent": True}})
                await asyncio.sleep(args.pause)

        started = time.perf_counter()
        await asyncio.gather(*(chat(w, s, i) for i, (w, s) in enumerate(widgets)))
        try:
            await asyncio.wait_for(all_seen.wait(), 30)
        except asyncio.TimeoutError:
            pass
        elapsed = time.perf_counter() - started
        for widget, _ in widgets:
            await widget.disconnect()
        await console.disconnect()
    if not latencies:
        print("no message reached the console")
        return 1
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"{args.chats} live chats, {len(ms)}/{expected} messages reached the console in {elapsed:.1f} s")
    print(f"message → console: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms")
    return 0 if len(ms) == expected else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--email", required=True, help="a staff account of --unit")
    parser.add_argument("--password", help="(or --password-stdin)")
    parser.add_argument("--password-stdin", action="store_true")
    parser.add_argument("--unit", default="tax_office")
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between a chat's messages")
    args = parser.parse_args()
    if args.password_stdin:
        args.password = sys.stdin.readline().rstrip("\r\n")
    if not args.password:
        parser.error("give --password or --password-stdin")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
