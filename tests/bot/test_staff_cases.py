"""Staff console with cases: the authorization matrix (role × own/other unit × page and API), actions,
escaping, audit log, exports, retention, erasure and live handover (with Rasa down: nothing is forwarded)."""

from __future__ import annotations

import html
import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from bot.auth import StaffUser
from bot.keys import ACCOUNTS, CASES, CONFIG, STORE
from bot.models import utcnow
from bot.retention import purge
from tests.bot.conftest import app_of, consent, send, store_of
from tests.bot.staff_helpers import add_user, create_case, login, page_csrf, post_action

ADMIN = StaffUser(0, "system@test", "System", "admin", frozenset())
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
async def people(client) -> dict[str, str]:
    users = {
        "tax": ("tax@mannheim.de", "staff", ("tax_office",)),
        "trade": ("trade@mannheim.de", "staff", ("trade_office",)),
        "operator": ("op@mannheim.de", "operator", ()),
        "operator_tax": ("optax@mannheim.de", "operator", ("tax_office",)),
        "admin": ("admin@mannheim.de", "admin", ()),
    }
    for email, role, units in users.values():
        await add_user(client, email, role, units)
    return {key: value[0] for key, value in users.items()}


# --- authorization matrix ------------------------------------------------------------------------

SEES = {"tax": True, "trade": False, "operator": True, "operator_tax": True, "admin": True}
CONTACT = {"tax": True, "trade": False, "operator": False, "operator_tax": True, "admin": True}
WORKS = {"tax": True, "trade": False, "operator": False, "operator_tax": True, "admin": True}


@pytest.mark.parametrize("who", sorted(SEES))
async def test_read_access_matrix(client, people, who) -> None:
    case = await create_case(client)
    number = case["case_number"]
    await login(client, people[who])
    expected = 200 if SEES[who] else 404
    page = await client.get(f"/staff/cases/{number}")
    assert page.status == expected
    api = await client.get(f"/staff/api/cases/{number}/messages")
    assert api.status == expected
    for kind in ("txt", "pdf"):
        assert (await client.get(f"/staff/cases/{number}/export.{kind}")).status == expected
    queue = await (await client.get("/staff/api/cases")).json()
    assert (number in [c["case_number"] for c in queue["cases"]]) == SEES[who]
    queue_page = await (await client.get("/staff")).text()
    assert (number in queue_page) == SEES[who]
    if SEES[who]:
        text = await page.text()
        assert ("erika@example.org" in text) == CONTACT[who]
        assert ("Bäckerei Muster GmbH" in text) == CONTACT[who]
        export = await (await client.get(f"/staff/cases/{number}/export.txt")).text()
        assert ("erika@example.org" in export) == CONTACT[who]


@pytest.mark.parametrize("who", sorted(SEES))
@pytest.mark.parametrize("action", ["take", "live", "status", "resolve", "assign"])
async def test_write_access_matrix(client, people, who, action) -> None:
    number = (await create_case(client))["case_number"]
    await login(client, people[who])
    csrf = await page_csrf(client)
    data = {"status": {"status": "waiting_for_customer"}, "resolve": {"outcome": "Rückruf erledigt"}}.get(action, {})
    if action == "assign":
        accounts = app_of(client)[ACCOUNTS]
        data = {"user_id": str((await accounts.user_by_email(people["tax"])).id)}
    resp = await post_action(client, number, action, csrf, **data)
    expected = 303 if WORKS[who] else (404 if not SEES[who] else 403)
    assert resp.status == expected, await resp.text()


@pytest.mark.parametrize("who,expected", [("tax", 303), ("trade", 404), ("operator", 303), ("admin", 303)])
async def test_reroute_needs_a_reason_and_moves_the_case(client, people, who, expected) -> None:
    number = (await create_case(client))["case_number"]
    await login(client, people[who])
    csrf = await page_csrf(client)
    if expected == 303:
        assert (await post_action(client, number, "reroute", csrf, unit="trade_office")).status == 400
    resp = await post_action(client, number, "reroute", csrf, unit="trade_office", reason="Gewerbeanmeldung")
    assert resp.status == expected
    if expected == 303:
        case = await app_of(client)[CASES].get(ADMIN, number)
        assert case.unit == "trade_office"
        events = await app_of(client)[CASES].events(number)
        reroute = [e for e in events if e.kind == "reroute"][0]
        assert (reroute.from_unit, reroute.to_unit, reroute.reason) == ("tax_office", "trade_office",
                                                                        "Gewerbeanmeldung")
        # now the trade office sees it and the tax office does not
        await login(client, people["trade"])
        assert (await client.get(f"/staff/cases/{number}")).status == 200
        await login(client, people["tax"])
        assert (await client.get(f"/staff/cases/{number}")).status == 404


async def test_only_admins_delete_and_manage_users(client, people) -> None:
    number = (await create_case(client))["case_number"]
    await login(client, people["tax"])
    csrf = await page_csrf(client)
    assert (await post_action(client, number, "delete", csrf)).status == 403
    assert (await client.get("/staff/users")).status == 403
    await login(client, people["admin"])
    assert (await client.get("/staff/users")).status == 200


async def test_assign_only_to_colleagues_of_the_unit(client, people) -> None:
    number = (await create_case(client))["case_number"]
    await login(client, people["tax"])
    csrf = await page_csrf(client)
    trade_id = (await app_of(client)[ACCOUNTS].user_by_email(people["trade"])).id
    assert (await post_action(client, number, "assign", csrf, user_id=str(trade_id))).status == 400


# --- queue ----------------------------------------------------------------------------------------

async def test_queue_filters_and_search(client, people) -> None:
    urgent = await create_case(client, priority="high", trigger="urgent", urgent_signals=["insolvency"])
    other = await create_case(client, contact={"name": "Hans ÜBELHÖR", "company": "Schreinerei Hölzer",
                                               "email": "h@example.org", "consent": True})
    await create_case(client, unit="trade_office")
    await login(client, people["tax"])
    data = await (await client.get("/staff/api/cases")).json()
    assert [c["case_number"] for c in data["cases"]] == [urgent["case_number"], other["case_number"]]
    assert data["new_count"] == 2
    data = await (await client.get("/staff/api/cases", params={"q": "hölzer"})).json()
    assert [c["case_number"] for c in data["cases"]] == [other["case_number"]]
    # upper-case umlauts in the data are found by a lower-case search (SQLite's lower() folds ASCII only)
    data = await (await client.get("/staff/api/cases", params={"q": "übelhör"})).json()
    assert [c["case_number"] for c in data["cases"]] == [other["case_number"]]
    data = await (await client.get("/staff/api/cases", params={"q": urgent["case_number"].lower()})).json()
    assert [c["case_number"] for c in data["cases"]] == [urgent["case_number"]]
    data = await (await client.get("/staff/api/cases", params={"status": "resolved"})).json()
    assert data["cases"] == []
    # a unit tab the user does not belong to shows nothing extra
    data = await (await client.get("/staff/api/cases", params={"unit": "trade_office"})).json()
    assert {c["unit"] for c in data["cases"]} == {"tax_office"}


# --- escaping, audit, exports ------------------------------------------------------------------------

async def test_user_data_is_escaped(client, people, session_id) -> None:
    await consent(client, session_id)
    await send(client, session_id, XSS)
    number = (await create_case(client, session_id=session_id, description=XSS, topic=XSS,
                                contact={"name": XSS, "company": XSS, "email": "x@example.org",
                                         "consent": True}))["case_number"]
    await login(client, people["tax"])
    csrf = await page_csrf(client)
    await post_action(client, number, "note", csrf, text=XSS)
    for path in (f"/staff/cases/{number}", "/staff"):
        text = await (await client.get(path)).text()
        assert "<script>alert" not in text and "<img src=x" not in text
        assert html.escape(XSS, quote=False).split(">")[0] in text.replace("&#34;", '"')


async def test_audit_log_records_view_change_export_delete(client, people) -> None:
    number = (await create_case(client))["case_number"]
    await login(client, people["admin"])
    await client.get(f"/staff/cases/{number}")
    csrf = await page_csrf(client)
    await post_action(client, number, "take", csrf)
    await client.get(f"/staff/cases/{number}/export.txt")
    await post_action(client, number, "delete", csrf)
    actions = [e.action for e in await app_of(client)[ACCOUNTS].audit_entries(number)]
    assert {"view", "take", "export", "delete"} <= set(actions)
    assert all(e.actor == people["admin"] for e in await app_of(client)[ACCOUNTS].audit_entries(number))


async def test_exports_text_and_pdf(client, people, session_id) -> None:
    await consent(client, session_id)
    await send(client, session_id, "Brauchen Sie Unterlagen für die Stundung?")
    number = (await create_case(client, session_id=session_id))["case_number"]
    await login(client, people["tax"])
    resp = await client.get(f"/staff/cases/{number}/export.txt")
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert f'filename="{number}.txt"' in resp.headers["Content-Disposition"]
    text = await resp.text()
    assert number in text and "Bäckerei Muster GmbH" in text and "Stundung" in text
    resp = await client.get(f"/staff/cases/{number}/export.pdf")
    assert resp.status == 200 and resp.content_type == "application/pdf"
    body = await resp.read()
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert number in text and "Bäckerei Muster GmbH" in text and "Priorität" in text


# --- retention and erasure -------------------------------------------------------------------------

async def test_resolved_cases_are_purged_after_the_retention_period(client, people) -> None:
    old = (await create_case(client))["case_number"]
    open_case = (await create_case(client))["case_number"]
    await login(client, people["tax"])
    csrf = await page_csrf(client)
    await post_action(client, old, "resolve", csrf, outcome="erledigt")
    app = app_of(client)
    result = await purge(app[STORE], app[CONFIG], utcnow() + timedelta(days=179), app[CASES])
    assert result.cases == 0
    result = await purge(app[STORE], app[CONFIG], utcnow() + timedelta(days=181), app[CASES])
    assert result.cases == 1
    assert await app[CASES].get(ADMIN, old) is None
    assert await app[CASES].get(ADMIN, open_case) is not None


async def test_admin_erasure_deletes_case_and_transcript(client, people, session_id) -> None:
    await consent(client, session_id)
    await send(client, session_id, "Hallo")
    number = (await create_case(client, session_id=session_id))["case_number"]
    await login(client, people["admin"])
    csrf = await page_csrf(client)
    resp = await post_action(client, number, "delete", csrf)
    assert resp.status == 303
    assert await app_of(client)[CASES].get(ADMIN, number) is None
    assert await store_of(client).history(session_id) is None


async def test_public_erasure_deletes_the_case_too(client, session_id) -> None:
    await consent(client, session_id)
    number = (await create_case(client, session_id=session_id))["case_number"]
    resp = await client.delete(f"/api/v1/conversations/{session_id}")
    assert resp.status in (204, 503)
    assert await app_of(client)[CASES].get(ADMIN, number) is None


# --- live handover (Rasa is down: a closed port) -------------------------------------------------------

async def test_live_mode_keeps_messages_from_rasa_and_delivers_staff_replies(client, people, session_id) -> None:
    await consent(client, session_id)
    number = (await create_case(client, session_id=session_id))["case_number"]
    # not live: Rasa (down) is asked, the user gets the polite error
    reply = await (await send(client, session_id, "Hallo?")).json()
    assert reply[0]["error"] == "rasa_unavailable"
    await login(client, people["tax"])
    csrf = await page_csrf(client)
    assert (await post_action(client, number, "reply", csrf, text="zu früh")).status == 409
    assert (await post_action(client, number, "live", csrf)).status == 303
    # live: the gateway does not call Rasa, so no error message comes back
    reply = await send(client, session_id, "Sind Sie ein Mensch?")
    assert reply.status == 200 and await reply.json() == []
    resp = await client.post(f"/staff/cases/{number}/reply", json={"text": "Ja, hier ist das Steueramt."},
                             headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert resp.status == 200
    message = (await resp.json())["message"]
    assert message["sender"] == "staff" and message["staff_name"] == "tax"
    history = await (await client.get(f"/api/v1/conversations/{session_id}/messages")).json()
    texts = [(m["sender"], m["text"], m.get("staff_name")) for m in history["messages"]]
    assert ("user", "Sind Sie ein Mensch?", None) in texts
    assert ("bot", "Ja, hier ist das Steueramt.", "tax") in texts
    api = await (await client.get(f"/staff/api/cases/{number}/messages")).json()
    assert api["live"] is True
    assert [m["sender"] for m in api["messages"]][-2:] == ["user", "staff"]
    case = await app_of(client)[CASES].get(ADMIN, number)
    assert case.first_response_at is not None and case.status == "in_progress"
    # hand back: Rasa is down, so no bot message, but the conversation goes to the bot again
    assert (await post_action(client, number, "handback", csrf)).status == 303
    reply = await (await send(client, session_id, "Und jetzt?")).json()
    assert reply[0]["error"] == "rasa_unavailable"


async def test_live_reply_is_escaped_on_the_case_page(client, people, session_id) -> None:
    await consent(client, session_id)
    number = (await create_case(client, session_id=session_id))["case_number"]
    await login(client, people["tax"])
    csrf = await page_csrf(client)
    await post_action(client, number, "live", csrf)
    await send(client, session_id, XSS)
    text = await (await client.get(f"/staff/cases/{number}")).text()
    assert "<script>alert" not in text and "&lt;script&gt;" in text


async def test_transcripts_of_open_cases_outlive_the_conversation_retention(client, session_id) -> None:
    await consent(client, session_id)
    await send(client, session_id, "Hallo")
    await create_case(client, session_id=session_id)
    app = app_of(client)
    result = await purge(app[STORE], app[CONFIG], utcnow() + timedelta(days=100), app[CASES])
    assert result.conversations == 0
    assert await store_of(client).history(session_id) is not None


# --- users (admin) -----------------------------------------------------------------------------------

async def test_admin_manages_users_in_the_console(client, people) -> None:
    await login(client, people["admin"])
    csrf = await page_csrf(client, "/staff/users")
    resp = await client.post("/staff/users", data={"csrf_token": csrf, "action": "create", "email": "neu@mannheim.de",
                                                   "name": "Neu", "role": "staff", "units": "trade_office",
                                                   "password": "kurz"})
    assert resp.status == 400 and "mindestens 12 Zeichen" in await resp.text()
    resp = await client.post("/staff/users", data={"csrf_token": csrf, "action": "create", "email": "neu@mannheim.de",
                                                   "name": "Neu", "role": "staff", "units": "trade_office",
                                                   "password": "Ein-gutes-Passwort-99"}, allow_redirects=False)
    assert resp.status == 303
    accounts = app_of(client)[ACCOUNTS]
    user = await accounts.user_by_email("neu@mannheim.de")
    assert (await accounts.staff_user(user.id)).units == {"trade_office"}
    resp = await client.post("/staff/users", data={"csrf_token": csrf, "action": "disable", "user_id": str(user.id)},
                             allow_redirects=False)
    assert resp.status == 303
    assert await accounts.staff_user(user.id) is None
    await login(client, "neu@mannheim.de", "Ein-gutes-Passwort-99", expect=401)
