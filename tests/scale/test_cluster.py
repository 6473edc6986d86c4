"""The production profile for real: two Rasa servers (endpoints.production.yml: tracker store in PostgreSQL,
lock store in Redis) and two web-app processes (KRISENLOTSE_PROFILE=production) on loopback, sharing one
PostgreSQL and one Redis; web A talks to Rasa 1, web B to Rasa 2.

- A conversation whose messages alternate between the instances keeps its context (the escalation form goes
  on where the other instance left it) and its order (also when the messages overlap in time).
- A live handover works with the entrepreneur on web A and the staff member on web B; the hand-back runs on
  Rasa 2 and reaches the widget on A.

Starting two Rasa servers takes a few minutes on a small machine: one cluster per module.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from redis import asyncio as aioredis

from tests.bot.staff_helpers import case_payload
from tests.bot.test_socketio import Client as WidgetClient
from tests.bot.test_staff_live import Console
from tests.scale import services
from tests.support.stack import skip_or_fail
from tools import stack

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ADMIN_EMAIL = "admin@stadt.example"
ADMIN_PASSWORD = "Korrekt-Pferd-Batterie-42"  # noqa: S105 - test account only
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Cluster:
    web: list[str]  # base URLs of web A and web B
    rasa: list[str]
    rasa_token: str
    internal_token: str
    services: list[stack.Service]
    lock_prefix: str = ""


def start_cluster(tmp: Path, model: Path, web_db: str, rasa_db: str, prefix: str) -> Cluster:
    prod = stack.Production(web_db=web_db, rasa_db=rasa_db, prefix=prefix,
                            pg_host=services.PG_HOST, pg_port=services.PG_PORT, pg_user=services.PG_USER,
                            redis_host=services.REDIS_HOST, redis_port=services.REDIS_PORT)
    rasa_token, actions_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    internal_token, secret_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    actions_port = stack.free_port()
    rasa_ports = [stack.free_port(), stack.free_port()]
    web_ports = [stack.free_port(), stack.free_port()]
    actions = stack.actions_service(actions_port, actions_token, tmp, internal_token=internal_token,
                                    web_internal_url=f"http://127.0.0.1:{web_ports[0]}", outbox_db=tmp / "outbox.db")
    rasas = []
    for i, port in enumerate(rasa_ports):
        log_dir = tmp / f"rasa{i + 1}"
        rasas.append(stack.rasa_service(port, rasa_token, model, stack.PRODUCTION_ENDPOINTS, log_dir, extra_env={
            **prod.rasa_env(actions_port), "KRISENLOTSE_ACTIONS_TOKEN": actions_token, "SANIC_WORKERS": "1"}))
    webs = []
    for i, port in enumerate(web_ports):
        env = {**prod.web_env(), "KRISENLOTSE_PORT": str(port), "KRISENLOTSE_HOST": "127.0.0.1",
               "KRISENLOTSE_RASA_URL": f"http://127.0.0.1:{rasa_ports[i]}",
               "KRISENLOTSE_ACTIONS_URL": f"http://127.0.0.1:{actions_port}",
               "KRISENLOTSE_RASA_TOKEN": rasa_token, "KRISENLOTSE_SECRET_KEY": secret_key,
               "KRISENLOTSE_INTERNAL_TOKEN": internal_token, "KRISENLOTSE_RASA_TIMEOUT": "30"}
        if i == 0:  # the first admin, created once by web A
            env |= {"KRISENLOTSE_ADMIN_EMAIL": ADMIN_EMAIL, "KRISENLOTSE_ADMIN_PASSWORD": ADMIN_PASSWORD}
        webs.append(stack.web_service(port, env, tmp, log_name=f"web{i + 1}.log", name=f"web app {i + 1}"))
    started: list[stack.Service] = []
    try:
        for svc in (actions, *rasas, webs[0]):
            svc.start()
            started.append(svc)
        webs[0].wait_ready(120)
        webs[1].start()
        started.append(webs[1])
        webs[1].wait_ready(120)
        actions.wait_ready(120)
        for rasa in rasas:
            rasa.wait_ready(420, stack.model_loaded)
    except BaseException:
        for svc in reversed(started):
            svc.stop()
        raise
    return Cluster(web=[f"http://127.0.0.1:{p}" for p in web_ports],
                   rasa=[f"http://127.0.0.1:{p}" for p in rasa_ports], rasa_token=rasa_token,
                   internal_token=internal_token, services=started, lock_prefix=prefix)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    for problem in (services.postgresql_problem(), services.redis_problem()):
        if problem:
            skip_or_fail(problem)
    model = stack.latest_model()
    if model is None or not (stack.RASA_VENV / "bin" / "rasa").exists():
        skip_or_fail("no trained Rasa model or no Rasa environment (run `make train`)")
    tmp = tmp_path_factory.mktemp("cluster")
    prefix = services.unique_name("kltest").replace("_", "")
    with services.fresh_database("kl_web") as web_db, services.fresh_database("kl_rasa") as rasa_db:
        made = start_cluster(tmp, model, web_db, rasa_db, prefix)
        try:
            yield made
        finally:
            for svc in reversed(made.services):
                svc.stop()
            services.delete_redis_keys(prefix)


async def rest(http: aiohttp.ClientSession, base: str, session_id: str, text: str) -> list[dict]:
    async with http.post(f"{base}/webhooks/rest/webhook", json={"sender": session_id, "message": text}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def tracker(http: aiohttp.ClientSession, cluster: Cluster, rasa: int, session_id: str) -> dict:
    async with http.get(f"{cluster.rasa[rasa]}/conversations/{session_id}/tracker",
                        params={"token": cluster.rasa_token}) as resp:
        assert resp.status == 200
        return await resp.json()


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


async def test_alternating_instances_keep_context_and_order(cluster: Cluster) -> None:
    a, b = cluster.web
    sid = uuid.uuid4().hex
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        assert "Wie ist Ihr Name" in texts(await rest(http, a, sid, "Ich möchte mit einem Menschen sprechen"))
        assert "Für welches Unternehmen" in texts(await rest(http, b, sid, "Erika Muster"))
        assert "E-Mail-Adresse" in texts(await rest(http, a, sid, "Bäckerei Muster GmbH"))
        assert "Telefonnummer" in texts(await rest(http, b, sid, "erika@example.org"))
        for rasa in (0, 1):  # both servers read the same tracker from PostgreSQL
            slots = (await tracker(http, cluster, rasa, sid))["slots"]
            assert slots["contact_name"] == "Erika Muster"
            assert slots["contact_company"] == "Bäckerei Muster GmbH"
            assert slots["contact_email"] == "erika@example.org"

        # Overlapping messages, alternating instances: Redis's lock store serialises them per conversation,
        # so none is lost and they are handled in the order they arrived.
        burst = uuid.uuid4().hex
        sent = [f"Was ist Kurzarbeit? ({i})" for i in range(6)]

        async def send(i: int) -> list[dict]:
            await asyncio.sleep(0.4 * i)
            return await rest(http, cluster.web[i % 2], burst, sent[i])

        seen_locks: set[str] = set()
        done = asyncio.Event()

        async def watch_locks() -> None:  # Rasa's conversation lock lives in Redis while a message is handled
            client = aioredis.Redis(host=services.REDIS_HOST, port=services.REDIS_PORT, decode_responses=True)
            try:
                while not done.is_set():
                    seen_locks.update([k async for k in client.scan_iter(match=f"{cluster.lock_prefix}:*")])
                    await asyncio.sleep(0.05)
            finally:
                await client.aclose()

        watcher = asyncio.get_running_loop().create_task(watch_locks())
        try:
            replies = await asyncio.gather(*(send(i) for i in range(len(sent))))
        finally:
            done.set()
            await watcher
        assert any(burst in key for key in seen_locks), seen_locks
        assert all(r and not any("error" in m for m in r) for r in replies), replies
        events = (await tracker(http, cluster, 0, burst))["events"]
        assert [e["text"] for e in events if e["event"] == "user"] == sent


async def login(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/login") as resp:
        csrf = CSRF.search(await resp.text()).group(1)
    async with http.post(f"{base}/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                "csrf_token": csrf, "next": "/staff"}, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    async with http.get(f"{base}/staff") as resp:
        assert resp.status == 200
        return CSRF.search(await resp.text()).group(1)


async def test_live_handover_with_user_and_staff_on_different_instances(cluster: Cluster) -> None:
    a, b = cluster.web
    bearer = {"Authorization": f"Bearer {cluster.internal_token}"}
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=60)) as http:
        csrf = await login(http, b)
        cookie = next(c.value for c in jar if c.key == "kl_staff")
        widget, console = WidgetClient(), Console()
        try:
            await widget.connect(a)
            sid = await widget.start_session(None)
            async with http.post(f"{a}/api/v1/consent", json={"session_id": sid}) as resp:
                assert resp.status == 204
            first = await widget.say(sid, "Hallo")
            assert first and "error" not in first[0]
            await console.connect(b, cookie)
            payload = case_payload(session_id=sid)
            async with http.post(f"{a}/internal/v1/cases", json=payload, headers=bearer) as resp:
                assert resp.status == 201
            number = payload["case_number"]
            assert (await console.next("case_new"))["case_number"] == number

            async with http.post(f"{b}/staff/cases/{number}/live", data={"csrf_token": csrf},
                                 allow_redirects=False) as resp:
                assert resp.status == 303
            private = "Umsatz 12345 Euro, bitte nur für die Stadt"
            await widget.sio.emit("user_uttered", {"message": private, "session_id": sid})
            live = await console.next("live_message")  # typed on A, shown on B
            assert live["message"]["text"] == private
            async with http.post(f"{b}/staff/cases/{number}/reply", json={"text": "Guten Tag, Steueramt."},
                                 headers={"X-CSRF-Token": csrf, "Accept": "application/json"}) as resp:
                assert resp.status == 200
            while True:  # skip what arrived before (typing, earlier bot messages)
                said = await widget.next("bot_uttered")
                if said.get("sender") == "staff":
                    break
            assert said["text"] == "Guten Tag, Steueramt."

            async with http.post(f"{b}/staff/cases/{number}/handback", data={"csrf_token": csrf},
                                 allow_redirects=False) as resp:
                assert resp.status == 303
            back = await widget.next("bot_uttered")  # action_handback on Rasa 2, delivered by web A
            assert "wieder für Sie da" in back["text"]
            user_texts = [e["text"] for e in (await tracker(http, cluster, 0, sid))["events"] if e["event"] == "user"]
            assert "Hallo" in user_texts and private not in user_texts
        finally:
            for client in (widget, console):
                await client.sio.eio.disconnect(abort=True)
                if client.sio.eio.http is not None and not client.sio.eio.http.closed:
                    await client.sio.eio.http.close()


def test_endpoints_production_reads_as_rasa_expects() -> None:
    """endpoints.production.yml uses only variables that tools/stack.Production sets."""
    lines = stack.PRODUCTION_ENDPOINTS.read_text(encoding="utf-8").splitlines()
    names = set(re.findall(r"\$\{(\w+)\}", "\n".join(line.split("#")[0] for line in lines)))
    assert "KRISENLOTSE_PG_HOST" in names and "KRISENLOTSE_REDIS_HOST" in names
    provided = set(stack.Production().rasa_env(5055)) | {"KRISENLOTSE_ACTIONS_TOKEN"}
    assert names <= provided, names - provided
