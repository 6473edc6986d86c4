"""Staff login: form, session cookie flags, logout, throttling, CSRF, password change, first admin, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import StartupError, init_app
from bot.auth import COOKIE, MAX_FAILURES_ACCOUNT
from bot.keys import ACCOUNTS
from tests.bot.conftest import app_of
from tests.bot.staff_helpers import PASSWORD, add_user, login, page_csrf

ROOT = Path(__file__).resolve().parents[2]


async def test_console_needs_login(client) -> None:
    resp = await client.get("/staff", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login")
    resp = await client.get("/staff/api/cases")
    assert resp.status == 401
    page = await client.get("/login")
    assert page.status == 200
    html = await page.text()
    assert 'lang="de"' in html and "Anmeldung" in html and '<label for="password">' in html
    assert "<script>" not in html  # CSP: no inline scripts


async def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(client) -> None:
    await add_user(client, "anna@mannheim.de")
    resp = await login(client, "anna@mannheim.de")
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert (await client.get("/staff")).status == 200
    token = cookie.value
    csrf = await page_csrf(client)
    resp = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 303
    assert await app_of(client)[ACCOUNTS].session_user(token) is None
    client.session.cookie_jar.update_cookies({COOKIE: token})
    assert (await client.get("/staff", allow_redirects=False)).status == 303


async def test_cookie_is_secure_behind_a_tls_proxy(make_client) -> None:
    client = await make_client(trust_proxy=True)
    await add_user(client, "anna@mannheim.de")
    page = await client.get("/login", headers={"X-Forwarded-Proto": "https"})
    from tests.bot.staff_helpers import csrf_of

    # the login-form cookie is Secure too: send it back by hand (the test client speaks plain HTTP)
    token = page.cookies["kl_login"].value
    assert page.cookies["kl_login"]["secure"]
    resp = await client.post("/login", data={"email": "anna@mannheim.de", "password": PASSWORD,
                                             "csrf_token": csrf_of(await page.text())},
                             headers={"X-Forwarded-Proto": "https", "Cookie": f"kl_login={token}"},
                             allow_redirects=False)
    assert resp.status == 303
    assert resp.cookies[COOKIE]["secure"]


async def test_same_error_for_unknown_user_and_wrong_password(client) -> None:
    await add_user(client, "anna@mannheim.de")
    wrong = await login(client, "anna@mannheim.de", "falsches-Passwort-123", expect=401)
    unknown = await login(client, "niemand@mannheim.de", PASSWORD, expect=401)
    text_wrong, text_unknown = await wrong.text(), await unknown.text()
    assert "E-Mail-Adresse oder Passwort ist falsch." in text_wrong
    assert "E-Mail-Adresse oder Passwort ist falsch." in text_unknown


async def test_login_is_throttled_per_account(client) -> None:
    await add_user(client, "anna@mannheim.de")
    for _ in range(MAX_FAILURES_ACCOUNT):
        await login(client, "anna@mannheim.de", "falsches-Passwort-123", expect=401)
    resp = await login(client, "anna@mannheim.de", PASSWORD, expect=429)  # even the right password waits
    assert "Bitte warten Sie 15 Minuten" in await resp.text()


async def test_disabled_user_cannot_log_in(client) -> None:
    user_id = await add_user(client, "anna@mannheim.de")
    await app_of(client)[ACCOUNTS].set_active(user_id, False)
    await login(client, "anna@mannheim.de", expect=401)


async def test_login_form_needs_its_csrf_token(client) -> None:
    await add_user(client, "anna@mannheim.de")
    resp = await client.post("/login", data={"email": "anna@mannheim.de", "password": PASSWORD},
                             allow_redirects=False)
    assert resp.status == 403


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_state_changing_requests_need_the_csrf_token(client, token) -> None:
    await add_user(client, "anna@mannheim.de")
    await login(client, "anna@mannheim.de")
    data = {"csrf_token": token} if token else {}
    resp = await client.post("/logout", data=data, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post("/staff/cases/KL-AAAA-BBBB/take", json={}, headers={"X-CSRF-Token": "nope"})
    assert resp.status == 403
    assert (await client.get("/staff")).status == 200  # still logged in


async def test_password_change(client) -> None:
    await add_user(client, "anna@mannheim.de")
    await login(client, "anna@mannheim.de")
    csrf = await page_csrf(client, "/staff/password")
    new = "Ein-ganz-neues-Passwort-7"
    resp = await client.post("/staff/password", data={"csrf_token": csrf, "current": "falsch", "new": new,
                                                      "again": new})
    assert resp.status == 400
    resp = await client.post("/staff/password", data={"csrf_token": csrf, "current": PASSWORD, "new": "kurz",
                                                      "again": "kurz"})
    assert resp.status == 400 and "mindestens 12 Zeichen" in await resp.text()
    resp = await client.post("/staff/password", data={"csrf_token": csrf, "current": PASSWORD, "new": new,
                                                      "again": new})
    assert resp.status == 200 and "Ihr Passwort wurde geändert." in await resp.text()
    await login(client, "anna@mannheim.de", PASSWORD, expect=401)
    await login(client, "anna@mannheim.de", new)


async def test_first_admin_from_the_environment(config) -> None:
    admin = {"admin_email": "chefin@mannheim.de", "admin_password": "Sehr-langes-Passwort-1"}
    app = await init_app(config.replace(**admin))
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        await login(client, "chefin@mannheim.de", "Sehr-langes-Passwort-1")
        assert (await client.get("/staff/users")).status == 200


async def test_weak_admin_password_stops_the_start(config) -> None:
    app = await init_app(config.replace(**{"admin_email": "chefin@mannheim.de", "admin_password": "kurz"}))
    from aiohttp.test_utils import TestServer

    server = TestServer(app)
    with pytest.raises(StartupError):
        await server.start_server()
    await server.close()


def test_settings_refuse_a_weak_admin_password() -> None:
    from bot.settings import Settings, SettingsError

    env = {"KRISENLOTSE_RASA_TOKEN": "x" * 20, "KRISENLOTSE_SECRET_KEY": "y" * 20,
           "KRISENLOTSE_ADMIN_EMAIL": "a@b.de", "KRISENLOTSE_ADMIN_PASSWORD": "short"}
    with pytest.raises(SettingsError, match="too weak"):
        Settings.from_env(env)


def test_cli_creates_and_lists_users(tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"}
    cmd = [sys.executable, "-m", "bot", "users"]
    done = subprocess.run([*cmd, "add", "--email", "Anna@Mannheim.de", "--name", "Anna", "--role", "staff",
                           "--unit", "tax_office", "--password-stdin"], input=PASSWORD + "\n", env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([*cmd, "list"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "anna@mannheim.de\tAnna\tstaff\tactive\ttax_office" in listed.stdout
    weak = subprocess.run([*cmd, "add", "--email", "b@mannheim.de", "--name", "B", "--unit", "tax_office",
                           "--password-stdin"], input="kurz\n", env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert weak.returncode == 2 and "mindestens 12 Zeichen" in weak.stderr
    unknown = subprocess.run([*cmd, "add", "--email", "c@mannheim.de", "--name", "C", "--unit", "mars",
                              "--password-stdin"], input=PASSWORD + "\n", env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 2


async def test_login_is_throttled_per_address(client) -> None:
    from bot.auth import MAX_FAILURES_ADDRESS

    await add_user(client, "anna@mannheim.de")
    for n in range(MAX_FAILURES_ADDRESS):
        await login(client, f"versuch{n}@mannheim.de", "falsches-Passwort-123", expect=401)
    await login(client, "anna@mannheim.de", PASSWORD, expect=429)


async def test_idle_sessions_expire(client) -> None:
    from sqlalchemy import update

    from bot.auth import token_hash
    from bot.models import StaffSession, utcnow

    await add_user(client, "anna@mannheim.de")
    token = (await login(client, "anna@mannheim.de")).cookies[COOKIE].value
    accounts = app_of(client)[ACCOUNTS]
    async with accounts.sessions.begin() as db:
        await db.execute(update(StaffSession).where(StaffSession.id == token_hash(token))
                         .values(expires=utcnow()))
    assert await accounts.session_user(token) is None
    assert (await client.get("/staff", allow_redirects=False)).status == 303
