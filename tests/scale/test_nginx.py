"""deploy/nginx/krisenlotse.conf in front of two web-app instances (run as a foreground nginx on a free
port, the shipped file with only the listen port and the upstreams filled in): pages, the REST channel and
socket.io over WebSocket and over long-polling reach the instances; the internal API and oversized bodies
stop at nginx; Rasa is not reachable through it. Skipped when nginx is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import init_app
from bot.settings import Settings
from tests.bot.test_socketio import Client as WidgetClient
from tests.scale import services
from tests.support.stack import skip_or_fail
from tools.stack import ROOT, free_port

CONF = ROOT / "deploy" / "nginx" / "krisenlotse.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def site_config(listen: int, upstreams: list[int]) -> str:
    """The shipped site file with the listen port and the upstream servers of this test."""
    text = CONF.read_text(encoding="utf-8")
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=2 fail_timeout=10s;" for port in upstreams)
    text, n = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+[^\n]*\n(?:    server 127\.0\.0\.1:\d+[^\n]*\n)*",
                      servers + "\n", text)
    assert n == 1, "upstream servers not found in krisenlotse.conf"
    text, n = re.subn(r"(?m)^    listen 80;.*$", f"    listen 127.0.0.1:{listen};", text)
    assert n == 1, "listen line not found in krisenlotse.conf"
    return text


def main_config(tmp: Path, site: Path) -> str:
    paths = "\n".join(f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                             "scgi"))
    return (f"daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n    access_log {tmp / 'access.log'};\n{paths}\n    include {site};\n}}\n")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, list[int], Path]]:
    if not Path(NGINX).exists():
        skip_or_fail("nginx is not installed (apt-get install nginx)")
    listen, upstreams = free_port(), [free_port(), free_port()]
    site = tmp_path / "krisenlotse.conf"
    site.write_text(site_config(listen, upstreams), encoding="utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(main_config(tmp_path, site), encoding="utf-8")
    check = subprocess.run([NGINX, "-t", "-c", str(main), "-e", str(tmp_path / "error.log")], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-c", str(main), "-e", str(tmp_path / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not services.port_open("127.0.0.1", listen, 0.2):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "error.log").read_text()
            time.sleep(0.1)
        yield listen, upstreams, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_nginx_in_front_of_two_instances(nginx, aiohttp_server, tmp_path, pg_database, redis_prefix) -> None:
    listen, upstreams, nginx_dir = nginx
    for i, port in enumerate(upstreams):
        folder = tmp_path / f"web{i}"
        folder.mkdir()
        config = Settings.for_tests(folder, database_url=services.asyncpg_url(pg_database),
                                    redis_url=services.REDIS_URL, redis_prefix=redis_prefix, profile="production",
                                    rasa_url=f"http://127.0.0.1:{free_port()}", trust_proxy=True)
        await aiohttp_server(await init_app(config), port=port)
    base = f"http://127.0.0.1:{listen}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/") as resp:
            assert resp.status == 200 and "Krisenlotse" in await resp.text()
            assert "nginx/" not in resp.headers.get("Server", "")  # server_tokens off
        sid = uuid.uuid4().hex
        async with http.post(f"{base}/webhooks/rest/webhook", json={"sender": sid, "message": "Hallo"}) as resp:
            assert resp.status == 200 and (await resp.json())[0]["recipient_id"] == sid
        async with http.get(f"{base}/internal/v1/units/tax_office/availability") as resp:
            assert resp.status == 404
        async with http.post(f"{base}/webhooks/rest/webhook", data=b"x" * 100_000,
                             headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 413
    for transport in ("websocket", "polling"):
        widget = WidgetClient()
        try:
            await widget.connect(base, transport=transport)
            session_id = await widget.start_session(None)
            replies = await widget.say(session_id, "Hallo")
            assert replies and replies[0]["text"]  # Rasa is down here: the polite message, through nginx
        finally:
            await widget.sio.eio.disconnect(abort=True)
            if widget.sio.eio.http is not None and not widget.sio.eio.http.closed:
                await widget.sio.eio.http.close()
    log = (nginx_dir / "access.log").read_text()
    assert "GET /socket.io/?transport=websocket" in log and "transport=polling" in log
