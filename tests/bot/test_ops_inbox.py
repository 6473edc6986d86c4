"""The NLU inbox of the operator console (/ops/inbox): sources, masking, normalising and de-duplication,
labelling through the page's API into a COPY of the project's training data, conflicts, access and CSRF.

The web app runs in-process on SQLite (Rasa is not needed: the transcripts are seeded the way the gateway
stores them); staff re-routings go through the real staff console."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.keys import ENGINE
from bot.models import AuditEntry, Conversation, Feedback, Message, NluLabel, utcnow
from bot.ops.inbox import (
    FALLBACK_ANSWERS,
    Inbox,
    examples_written_since,
    inbox_key,
    item_id,
    mask,
    training_text,
)
from tests.bot.conftest import MakeClient, app_of
from tests.bot.staff_helpers import add_user, create_case, login, page_csrf, post_action
from tests.bot.test_ops_nlu_data import copy_project, examples

ROOT = Path(__file__).resolve().parents[2]
CLARIFY = FALLBACK_ANSWERS[0] + " Meinen Sie „Steuern und Gebühren“ oder „Kredite“?"
Turn = tuple[str, str, dict[str, Any]]


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


def user(text: str, intent: str | None = "tax_relief", confidence: float | None = 0.4,
         ranked: list[dict[str, Any]] | None = None) -> Turn:
    default = ranking((intent, confidence or 0.0), ("loans_liquidity", 0.3), ("emergency_aid", 0.1)) \
        if intent else None
    return ("user", text, {"intent": intent, "confidence": confidence, "intent_ranking": ranked or default})


def bot(text: str = "Hier ist die Antwort.") -> Turn:
    return ("bot", text, {})


async def seed(engine: AsyncEngine, turns: Sequence[Turn], session_id: str | None = None,
               start: datetime | None = None, down: Sequence[int] = ()) -> tuple[str, list[str]]:
    """Store one conversation as the gateway does (consent, then messages with intent/confidence/ranking);
    ``down``: positions of bot messages that got 👎."""
    session_id = session_id or uuid.uuid4().hex
    start = start or utcnow() - timedelta(hours=1)
    ids = []
    async with async_sessionmaker(engine).begin() as db:
        db.add(Conversation(session_id=session_id, created=start, consent_at=start, last_activity=start))
        await db.flush()
        for position, (sender, text, extra) in enumerate(turns):
            message = Message(conversation=session_id, sender=sender, text=text, delivered=True,
                              created=start + timedelta(seconds=position), **extra)
            db.add(message)
            await db.flush()
            ids.append(message.id)
        for position in down:
            db.add(Feedback(message=ids[position], rating="down", comment=None))
    return session_id, ids


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture
async def operator(make_client: MakeClient, project: Path) -> TestClient:
    client = await make_client(project_dir=project, inbox_threshold=0.6)
    await add_user(client, "leitstelle@mannheim.de", role="operator", units=())
    await login(client, "leitstelle@mannheim.de")
    return client


def engine_of(client: TestClient) -> AsyncEngine:
    return app_of(client)[ENGINE]


async def inbox_json(client: TestClient) -> dict[str, Any]:
    resp = await client.get("/ops/api/inbox")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def label(client: TestClient, action: str, ids: list[str], intent: str | None = None,
                expect: int = 200) -> dict[str, Any]:
    csrf = await page_csrf(client, "/ops/inbox")
    resp = await client.post("/ops/api/inbox/label", json={"action": action, "items": ids, "intent": intent},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == expect, await resp.text()
    return await resp.json()


# --- masking and normalising (no app) --------------------------------------------------------------

@pytest.mark.parametrize(("raw", "masked"), [
    ("Meine Mail ist erika.muster@example.org, Tel. 0621 293-4567",
     "Meine Mail ist [E-Mail], Tel. [Telefon]"),
    ("IBAN DE89 3704 0044 0532 0130 00 für die Rückzahlung", "IBAN [IBAN] für die Rückzahlung"),
    ("Mein Name ist Erika Muster und ich brauche Kurzarbeit", "Mein Name ist [Name] und ich brauche Kurzarbeit"),
    ("ich heiße Jürgen von Hohenfels", "ich heiße [Name]"),
    ("Ich bin Anna Schmidt von der Bäckerei", "Ich bin [Name] von der Bäckerei"),
    ("Bitte Rückruf an Frau Öztürk", "Bitte Rückruf an Frau [Name]"),
    ("hier spricht Herr Maier", "hier spricht Herr [Name]"),
    ("Ich bin Friseurin in Neckarau", "Ich bin Friseurin in Neckarau"),  # a profession is no name
    ("Termin am 01.05.2024 um 10.30", "Termin am 01.05.2024 um 10.30"),  # dates are no phone numbers
])
def test_personal_data_is_masked(raw: str, masked: str) -> None:
    assert mask(raw) == masked


def test_names_known_from_the_sessions_cases_are_masked() -> None:
    text = "Hallo, hier Erika von der Bäckerei Muster GmbH, Erika braucht Hilfe bei der Stundung"
    assert mask(text, names=["Erika Muster"], companies=["Bäckerei Muster GmbH"]) == \
        "Hallo, hier [Name] von der [Firma], [Name] braucht Hilfe bei der Stundung"


def test_normalised_key_and_training_text() -> None:
    assert inbox_key("  Meine Nummer: 0621 123456!! ") == inbox_key("meine nummer: 0176 9876543") == \
        "meine nummer: [telefon]"
    assert training_text("Ich bin [Name], Mail [E-Mail]") == \
        "Ich bin [Anna Schmidt](person_name), Mail [info@beispiel-firma.de](email)"


def test_fallback_answer_prefix_matches_the_action_text() -> None:
    from actions.texts import CLARIFY as ACTION_CLARIFY

    assert ACTION_CLARIFY.startswith(FALLBACK_ANSWERS[0])


# --- the inbox from seeded transcripts ---------------------------------------------------------------

async def test_sources_dedupe_and_order(operator: TestClient) -> None:
    engine = engine_of(operator)
    # the same question in three spellings (low confidence) and once more via 👎: four times in all
    for text in ("Kann ich die Hundesteuer stunden?", "kann ich die hundesteuer stunden", "KANN ICH DIE  HUNDESTEUER STUNDEN!!"):
        await seed(engine, [user(text), bot()])
    await seed(engine, [user("kann ich die hundesteuer stunden", confidence=0.9), bot("Zur Hundesteuer …")],
               down=[1])
    # fallback intent, and a fallback answer after a confident-looking message (twice)
    await seed(engine, [user("wo krieg ich nen wisch fürs amt", intent="nlu_fallback", confidence=0.3,
                             ranked=ranking(("nlu_fallback", 0.45), ("online_services", 0.3), ("tax_relief", 0.2)))])
    for _ in range(2):
        await seed(engine, [user("brauche hilfe beim papierkram", confidence=0.8), bot(CLARIFY)])
    # confident and not marked: not in the inbox; a button payload: never
    await seed(engine, [user("Wann ist die Frist für die Schlussabrechnung?", confidence=0.95), bot()])
    await seed(engine, [user("/greet", intent="greet", confidence=0.2), bot()])
    # old messages (outside the 30-day window) do not count
    await seed(engine, [user("uralte frage von früher")], start=utcnow() - timedelta(days=45))

    body = await inbox_json(operator)
    texts = [(item["text"], item["count"]) for item in body["items"]]
    assert texts == [("kann ich die hundesteuer stunden", 4), ("brauche hilfe beim papierkram", 2),
                     ("wo krieg ich nen wisch fürs amt", 1)]
    first, second, third = body["items"]
    assert first["sources"] == {"low_confidence": 3, "feedback": 1}
    assert first["conversations"] == 4
    assert first["suggestion"] == "tax_relief"
    assert [r["name"] for r in first["ranking"]] == ["tax_relief", "loans_liquidity", "emergency_aid"]
    assert second["sources"] == {"fallback": 2}
    assert third["sources"] == {"fallback": 1}
    assert third["suggestion"] == "online_services"  # nlu_fallback is never a suggestion
    assert third["context"][0] == {"sender": "user", "text": "wo krieg ich nen wisch fürs amt", "focus": True}
    assert "nlu_fallback" not in body["intents"] and "out_of_scope" in body["intents"]


async def test_masked_before_the_operator_sees_it(operator: TestClient) -> None:
    engine = engine_of(operator)
    payload = await create_case(operator, unit="tax_office", topic="tax_relief")
    await seed(engine, [user("Hallo, ich bin Erika Muster von der Bäckerei Muster GmbH"),
                        bot("Worum geht es?"),
                        user("Meine Nummer ist 0621 123456, Mail erika@example.org"),
                        bot("Danke, Erika Muster.")], session_id=payload["session_id"])
    page = await operator.get("/ops/inbox")
    html = await page.text()
    assert page.status == 200
    for secret in ("Erika", "Muster", "0621 123456", "erika@example.org"):
        assert secret not in html
    assert "Hallo, ich bin [Name] von der [Firma]" in html
    assert "Meine Nummer ist [Telefon], Mail [E-Mail]" in html
    assert "Danke, [Name]." in html  # the conversation around it is masked too
    body = await inbox_json(operator)
    assert "Erika" not in str(body)


async def test_staff_rerouting_feeds_the_inbox(operator: TestClient) -> None:
    engine = engine_of(operator)
    payload = await create_case(operator, unit="tax_office", topic="tax_relief")
    await seed(engine, [user("hallo", intent="greet", confidence=0.99), bot(),
                        user("unser laden hat kein geld mehr für die miete", confidence=0.91), bot()],
               session_id=payload["session_id"])
    assert (await inbox_json(operator))["items"] == []
    csrf = await page_csrf(operator, f"/staff/cases/{payload['case_number']}")
    resp = await post_action(operator, payload["case_number"], "reroute", csrf, unit="business_development",
                             reason="Es geht um einen Kredit, nicht um Steuern.")
    assert resp.status == 303, await resp.text()
    items = (await inbox_json(operator))["items"]
    assert [(i["text"], i["sources"], i["reroutes"]) for i in items] == [
        ("unser laden hat kein geld mehr für die miete", {"reroute": 1}, ["tax_office → business_development"])]


async def test_training_data_texts_are_not_shown(operator: TestClient) -> None:
    await seed(engine_of(operator), [user("Termin buchen!", intent="appointment_booking", confidence=0.5)])
    assert (await inbox_json(operator))["items"] == []


# --- labelling -------------------------------------------------------------------------------------

async def test_confirm_writes_the_training_file_and_hides_the_item(operator: TestClient, project: Path) -> None:
    engine = engine_of(operator)
    before = utcnow()
    await seed(engine, [user("Kann ich die Hundesteuer stunden?"), bot()])
    await seed(engine, [user("meine Nummer ist 0621 555666, ruft mich wegen der Grundsteuer an"), bot()])
    items = (await inbox_json(operator))["items"]
    result = await label(operator, "confirm", [i["id"] for i in items])
    assert result["written"] == 2 and result["message"] == "2 als Trainingsbeispiel gespeichert."
    assert {r["file"] for r in result["results"]} == {"data/nlu/operator/tax_relief.yml"}
    path = project / "data" / "nlu" / "operator" / "tax_relief.yml"
    assert sorted(examples(path, "tax_relief")) == [
        "Kann ich die Hundesteuer stunden?",
        "meine Nummer ist [0621 123456](phone), ruft mich wegen der Grundsteuer an"]
    assert "555666" not in path.read_text(encoding="utf-8")
    assert not (ROOT / "data" / "nlu" / "operator" / "tax_relief.yml").exists()  # the real data is untouched
    assert (await inbox_json(operator))["items"] == []
    # the same text again (another spelling) stays hidden
    await seed(engine, [user("kann ich die hundesteuer stunden")])
    assert (await inbox_json(operator))["items"] == []
    written = await examples_written_since(engine, before)
    assert [(w.intent, w.file, w.actor) for w in written] == [
        ("tax_relief", "data/nlu/operator/tax_relief.yml", "leitstelle@mannheim.de")] * 2
    assert await examples_written_since(engine, utcnow()) == []
    async with async_sessionmaker(engine)() as db:
        audit = list(await db.scalars(select(AuditEntry).where(AuditEntry.action == "nlu_label")))
    assert [a.detail for a in audit] == ["confirm: written 2"]


async def test_pick_out_of_scope_and_ignore(operator: TestClient, project: Path) -> None:
    engine = engine_of(operator)
    await seed(engine, [user("brauche ich eine genehmigung für einen foodtruck"), bot()])
    await seed(engine, [user("wer gewinnt am samstag das derby der handballer"), bot()])
    await seed(engine, [user("asdf jklö"), bot()])
    ids = {i["text"]: i["id"] for i in (await inbox_json(operator))["items"]}
    picked = await label(operator, "pick", [ids["brauche ich eine genehmigung für einen foodtruck"]],
                         "business_registration")
    assert picked["results"][0]["file"] == "data/nlu/operator/business_registration.yml"
    out = await label(operator, "out_of_scope", [ids["wer gewinnt am samstag das derby der handballer"]])
    assert out["results"][0]["file"] == "data/nlu/operator/out_of_scope.yml"
    ignored = await label(operator, "ignore", [ids["asdf jklö"]])
    assert ignored["ignored"] == 1
    assert sorted(p.name for p in (project / "data" / "nlu" / "operator").iterdir()) == \
        ["business_registration.yml", "out_of_scope.yml"]
    assert (await inbox_json(operator))["items"] == []
    async with async_sessionmaker(engine)() as db:
        labels = list(await db.scalars(select(NluLabel).order_by(NluLabel.id)))
    assert [(x.intent, x.decision, x.written, x.actor) for x in labels] == [
        ("business_registration", "confirmed", True, "leitstelle@mannheim.de"),
        ("out_of_scope", "confirmed", True, "leitstelle@mannheim.de"),
        (None, "ignored", False, "leitstelle@mannheim.de")]


async def test_invalid_requests_are_refused(operator: TestClient, project: Path) -> None:
    _, _ = await seed(engine_of(operator), [user("brauche ich eine genehmigung für einen foodtruck"), bot()])
    item = (await inbox_json(operator))["items"][0]["id"]
    assert (await label(operator, "pick", [item], "no_such_intent", 400))["error"]["code"] == "invalid_intent"
    assert (await label(operator, "pick", [item], "nlu_fallback", 400))["error"]["code"] == "invalid_intent"
    assert (await label(operator, "pick", [item], None, 400))["error"]["code"] == "intent_required"
    assert (await label(operator, "dance", [item], None, 400))["error"]["code"] == "invalid_action"
    assert (await label(operator, "confirm", [], None, 400))["error"]["code"] == "no_items"
    gone = await label(operator, "confirm", ["0" * 20])
    assert gone["results"][0]["status"] == "gone"
    assert not (project / "data" / "nlu" / "operator").exists()


async def test_a_test_set_text_is_refused_with_a_clear_message(operator: TestClient, project: Path) -> None:
    doc = yaml.safe_load((project / "tests" / "nlu" / "testset.yml").read_text(encoding="utf-8"))
    text = doc["nlu"][0]["examples"].splitlines()[0][2:]
    await seed(engine_of(operator), [user(text, intent=doc["nlu"][0]["intent"], confidence=0.5), bot()])
    item = (await inbox_json(operator))["items"][0]
    result = await label(operator, "confirm", [item["id"]])
    assert result["results"][0]["status"] == "error"
    assert "Testdatensatz (tests/nlu/testset.yml)" in result["message"]
    assert not (project / "data" / "nlu" / "operator").exists()
    assert [i["id"] for i in (await inbox_json(operator))["items"]] == [item["id"]]  # still to do


async def test_conflicting_labels_are_shown_and_decided(operator: TestClient, project: Path) -> None:
    engine = engine_of(operator)
    await seed(engine, [user("unser laden hat kein geld mehr für die miete"), bot()])
    item = (await inbox_json(operator))["items"][0]["id"]
    await label(operator, "pick", [item], "tax_relief")
    # a colleague with the page still open labels the same text differently: not silently kept
    late = await label(operator, "pick", [item], "loans_liquidity")
    assert late["results"][0]["status"] == "conflict"
    assert "hat diesen Text schon tax_relief zugeordnet" in late["results"][0]["message"]
    conflicts = (await inbox_json(operator))["conflicts"]
    assert [(c["text"], c["existing_intent"], c["proposed_intent"], c["resolvable"]) for c in conflicts] == [
        ("unser laden hat kein geld mehr für die miete", "tax_relief", "loans_liquidity", True)]
    html = await (await operator.get("/ops/inbox")).text()
    assert "Konflikte" in html and "loans_liquidity übernehmen" in html
    # decide for the new label: the example moves from one file to the other
    csrf = await page_csrf(operator, "/ops/inbox")
    resp = await operator.post(f"/ops/api/inbox/conflicts/{conflicts[0]['label_id']}/resolve",
                               data={"csrf_token": csrf, "choice": "new"}, allow_redirects=False)
    assert resp.status == 303
    operator_dir = project / "data" / "nlu" / "operator"
    assert examples(operator_dir / "tax_relief.yml", "tax_relief") == []
    assert examples(operator_dir / "loans_liquidity.yml", "loans_liquidity") == [
        "unser laden hat kein geld mehr für die miete"]
    assert (await inbox_json(operator))["conflicts"] == []
    written = await examples_written_since(engine, None)
    assert [w.intent for w in written] == ["loans_liquidity"]


async def test_keep_the_existing_label(operator: TestClient, project: Path) -> None:
    await seed(engine_of(operator), [user("unser laden hat kein geld mehr für die miete"), bot()])
    item = (await inbox_json(operator))["items"][0]["id"]
    await label(operator, "pick", [item], "tax_relief")
    await label(operator, "out_of_scope", [item])
    conflict = (await inbox_json(operator))["conflicts"][0]
    csrf = await page_csrf(operator, "/ops/inbox")
    resp = await operator.post(f"/ops/api/inbox/conflicts/{conflict['label_id']}/resolve",
                               json={"choice": "keep"}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200 and (await resp.json())["message"] == "Die bisherige Zuordnung bleibt."
    assert (await inbox_json(operator))["conflicts"] == []
    assert not (project / "data" / "nlu" / "operator" / "out_of_scope.yml").exists()


async def test_form_without_javascript(operator: TestClient, project: Path) -> None:
    await seed(engine_of(operator), [user("brauche ich eine genehmigung für einen foodtruck"), bot()])
    page = await operator.get("/ops/inbox")
    html = await page.text()
    item = re.search(r'name="item" value="([0-9a-f]{20})"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = await operator.post("/ops/inbox", data={"csrf_token": csrf, "do": f"pick:{item}:business_registration"},
                               allow_redirects=False)
    assert resp.status == 303
    follow = await operator.get(resp.headers["Location"])
    assert "1 als Trainingsbeispiel gespeichert." in await follow.text()
    assert (project / "data" / "nlu" / "operator" / "business_registration.yml").exists()


# --- access ---------------------------------------------------------------------------------------------

async def test_access_and_csrf(make_client: MakeClient, project: Path) -> None:
    client = await make_client(project_dir=project)
    resp = await client.get("/ops/inbox", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    assert (await client.post("/ops/api/inbox/label", json={"action": "ignore", "items": []})).status == 401
    await add_user(client, "sachbearbeitung@mannheim.de", role="staff", units=("tax_office",))
    await login(client, "sachbearbeitung@mannheim.de")
    assert (await client.get("/ops/inbox")).status == 403
    assert (await client.get("/ops/api/inbox")).status == 403
    await add_user(client, "admin@mannheim.de", role="admin", units=())
    await login(client, "admin@mannheim.de")
    assert (await client.get("/ops/inbox")).status == 200
    resp = await client.post("/ops/api/inbox/label", json={"action": "ignore", "items": ["x"]})
    assert resp.status == 403  # no CSRF token
    resp = await client.post("/ops/api/inbox/label", json={"action": "ignore", "items": ["x"]},
                             headers={"X-CSRF-Token": "wrong"})
    assert resp.status == 403


async def test_escaping_of_user_text(operator: TestClient) -> None:
    await seed(engine_of(operator), [user('<script>alert("x")</script> kurzarbeit?'), bot()])
    html = await (await operator.get("/ops/inbox")).text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; kurzarbeit?" in html


async def test_inbox_class_directly(operator: TestClient, project: Path) -> None:
    """Inbox is usable without the web layer (e.g. by the dashboard): items and keys agree."""
    await seed(engine_of(operator), [user("Hundesteuer stunden?"), bot()])
    inbox = Inbox(engine_of(operator), project, threshold=0.6, days=30)
    items = await inbox.items()
    assert [(i.key, i.id) for i in items] == [("hundesteuer stunden", item_id("hundesteuer stunden"))]
