"""``/ops/models`` through the real web app: access per role, CSRF, the activation gate and its admin
override (audited), Rasa down during a switch, a failing and a cancelled training (real ``rasa train``
subprocesses), and — marked slow — training with the fast test configuration on a copy of the project,
evaluation side by side with the active model, activation in the real Rasa (``PUT /model``, verified with
``/status``) and rollback."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.keys import ACCOUNTS
from bot.models import utcnow
from bot.ops.models_views import model_ops
from bot.settings import Settings
from tests.bot.conftest import MakeClient, app_of
from tests.bot.staff_helpers import add_user, login, page_csrf
from tests.support.stack import skip_or_fail
from tools import stack

ROOT = Path(__file__).resolve().parents[2]
FAST_CONFIG = ROOT / "tests" / "support" / "config-fast.yml"
JSON = {"Accept": "application/json"}


def copy_project(target: Path) -> Path:
    """data/, domain.yml, config.yml and the test set in ``target`` (tests never touch the repo's data)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "data", target / "data")
    shutil.copy(ROOT / "domain.yml", target / "domain.yml")
    shutil.copy(ROOT / "config.yml", target / "config.yml")
    shutil.copytree(ROOT / "tests" / "nlu", target / "tests" / "nlu")
    (target / "var").mkdir()
    (target / "var" / "spacy").symlink_to(ROOT / "var" / "spacy")
    return target


def needs_rasa_env() -> None:
    if not (stack.RASA_VENV / "bin" / "python").exists():
        skip_or_fail(f"no Rasa environment at {stack.RASA_VENV} (run `make install`)")
    if not (ROOT / "var" / "spacy" / "de_krisenlotse").exists():
        skip_or_fail("German spaCy pipeline missing (run `make spacy`)")


def fake_model(models_dir: Path, name: str) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / name
    with tarfile.open(path, "w:gz") as archive:
        data = json.dumps({"model_id": name}).encode()
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def figures(macro: float, **f1: float) -> dict[str, Any]:
    return {"macro_f1": macro, "accuracy": macro, "n": 10, "testset_fingerprint": "t",
            "per_intent": {k: {"precision": v, "recall": v, "f1": v, "support": 5} for k, v in f1.items()},
            "errors": [{"text": "<b>Kurzarbeit</b> bitte", "expected": "short_time_work", "predicted": "greet",
                        "confidence": 0.4}],
            "confusion": {"labels": ["greet", "short_time_work"], "matrix": [[5, 0], [1, 4]]}}


async def operator(client: TestClient, role: str = "operator", email: str | None = None) -> str:
    email = email or f"{role}@mannheim.de"
    await add_user(client, email, role=role, units=())
    await login(client, email)
    return await page_csrf(client, "/ops/models")


async def seeded(make_client: MakeClient, tmp_path: Path, **overrides: Any) -> TestClient:
    """An app whose registry has an active model (macro-F1 0.90) and a worse new one (0.80)."""
    models = tmp_path / "models"
    client = await make_client(models_dir=models, project_dir=tmp_path, **overrides)
    registry = model_ops(app_of(client)).registry
    fake_model(models, "old.tar.gz")
    fake_model(models, "new.tar.gz")
    old = await registry.add(file_name="old.tar.gz", status="ready", trained_by="a",
                             created_at=utcnow().replace(year=2025))
    await registry.mark_active(old.id)
    await registry.set_metrics(old.id, figures(0.90, greet=0.9, short_time_work=0.9))
    new = await registry.add(file_name="new.tar.gz", status="ready", trained_by="b")
    await registry.set_metrics(new.id, figures(0.80, greet=0.9, short_time_work=0.7))
    return client


# --- access and CSRF ------------------------------------------------------------------------------------

async def test_models_page_is_for_operators_and_admins_only(client: TestClient) -> None:
    resp = await client.get("/ops/models", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")
    resp = await client.get("/ops/api/models/job")
    assert resp.status == 401
    await add_user(client, "anna@mannheim.de", role="staff")
    await login(client, "anna@mannheim.de")
    assert (await client.get("/ops/models")).status == 403
    assert (await client.get("/ops/api/models/job")).status == 403


async def test_operator_sees_the_page_and_an_empty_job(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client(models_dir=tmp_path / "models", project_dir=tmp_path)
    await operator(client)
    resp = await client.get("/ops/models")
    html = await resp.text()
    assert resp.status == 200
    assert "<h1>Modelle</h1>" in html and "Training starten" in html
    assert 'aria-current="page">Modelle' in html
    assert (await (await client.get("/ops/api/models/job")).json()) == {"job": None, "other_busy": False}


async def test_posts_need_the_csrf_token(client: TestClient) -> None:
    await operator(client)
    for path in ("/ops/models/train", "/ops/models/cancel", "/ops/models/1/activate", "/ops/models/1/rollback",
                 "/ops/models/1/evaluate"):
        resp = await client.post(path, data={"csrf_token": "wrong"})
        assert resp.status == 403, path


# --- activation gate ----------------------------------------------------------------------------------

async def test_evaluation_is_shown_side_by_side_and_escaped(make_client: MakeClient, tmp_path: Path) -> None:
    client = await seeded(make_client, tmp_path)
    await operator(client)
    html = await (await client.get("/ops/models?model=2")).text()
    assert "im Vergleich mit dem aktiven Modell #1" in html
    assert "Freigabe verweigert" in html and "short_time_work (−0.20)" in html
    assert "&lt;b&gt;Kurzarbeit&lt;/b&gt; bitte" in html and "<b>Kurzarbeit</b>" not in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'role="img"' in html
    assert 'id="confusion-table"' in html
    assert "Trotzdem aktivieren" not in html  # operators cannot override


async def test_gate_blocks_and_only_an_admin_may_override_with_a_reason(make_client: MakeClient, tmp_path: Path,
                                                                        dead_url: str) -> None:
    client = await seeded(make_client, tmp_path)
    csrf = await operator(client)
    headers = {**JSON, "X-CSRF-Token": csrf}
    resp = await client.post("/ops/models/2/activate", headers=headers)
    body = await resp.json()
    assert resp.status == 409 and body["error"] == "gate"
    assert any("Makro-F1 sinkt um 0.100" in r for r in body["reasons"])
    resp = await client.post("/ops/models/2/activate", json={"reason": "Wir brauchen das neue Intent heute."},
                             headers=headers)
    assert resp.status == 409
    assert "Administrator" in (await resp.json())["message"]

    csrf = await operator(client, "admin")
    headers = {**JSON, "X-CSRF-Token": csrf}
    resp = await client.post("/ops/models/2/activate", json={"reason": "kurz"}, headers=headers)
    assert resp.status == 409 and "10 Zeichen" in (await resp.json())["message"]
    # a valid override, but Rasa is down: nothing changes, the old model stays active
    resp = await client.post("/ops/models/2/activate", json={"reason": "Neue Förderrichtlinie ab heute."},
                             headers=headers)
    body = await resp.json()
    assert resp.status == 409 and "Der Wechsel ist fehlgeschlagen" in body["message"], body
    registry = model_ops(app_of(client)).registry
    assert (await registry.active()).file_name == "old.tar.gz"
    assert not (tmp_path / "models" / "active.txt").exists()
    actions = [e.action for e in await app_of(client)[ACCOUNTS].audit_entries()]
    assert "model_activate_override" not in actions


async def test_rollback_only_to_older_models(make_client: MakeClient, tmp_path: Path) -> None:
    client = await seeded(make_client, tmp_path)
    csrf = await operator(client)
    resp = await client.post("/ops/models/2/rollback", headers={**JSON, "X-CSRF-Token": csrf})
    assert resp.status == 409 and "älteren Modell" in (await resp.json())["message"]
    resp = await client.post("/ops/models/99/activate", headers={**JSON, "X-CSRF-Token": csrf})
    assert resp.status == 409 and "nicht (mehr) vorhanden" in (await resp.json())["message"]


# --- real training subprocesses -------------------------------------------------------------------------

async def wait_job(client: TestClient, timeout: float = 900) -> dict[str, Any]:
    ops = model_ops(app_of(client))
    await asyncio.wait_for(ops.wait(), timeout)
    return (await (await client.get("/ops/api/models/job")).json())["job"]


@pytest.mark.slow
async def test_failing_training_reports_a_clear_error(make_client: MakeClient, tmp_path: Path) -> None:
    needs_rasa_env()
    project = copy_project(tmp_path / "project")
    broken = tmp_path / "broken.yml"
    broken.write_text("recipe: default.v1\nlanguage: de\nassistant_id: x\npipeline:\n  - name: NoSuchComponent\n"
                      "policies:\n  - name: RulePolicy\n")
    client = await make_client(project_dir=project, models_dir=tmp_path / "models", train_config=broken)
    csrf = await operator(client)
    resp = await client.post("/ops/models/train", headers={**JSON, "X-CSRF-Token": csrf})
    assert resp.status == 202, await resp.text()
    again = await client.post("/ops/models/train", headers={**JSON, "X-CSRF-Token": csrf})
    assert again.status == 409 and "läuft bereits" in (await again.json())["message"]
    job = await wait_job(client, 300)
    assert job["status"] == "failed"
    assert job["error"].startswith("Das Training ist fehlgeschlagen (Code")
    assert "NoSuchComponent" in job["error"]
    html = await (await client.get("/ops/models")).text()
    assert "fehlgeschlagen" in html
    (record,) = [m for m in await model_ops(app_of(client)).registry.all() if m.status == "failed"]
    assert record.file_name is None and "NoSuchComponent" in (record.note or "")
    assert not list((tmp_path / "models").glob("*.tar.gz"))


@pytest.mark.slow
async def test_training_can_be_cancelled(make_client: MakeClient, tmp_path: Path) -> None:
    needs_rasa_env()
    project = copy_project(tmp_path / "project")
    client = await make_client(project_dir=project, models_dir=tmp_path / "models", train_config=FAST_CONFIG)
    csrf = await operator(client)
    assert (await client.post("/ops/models/train", headers={**JSON, "X-CSRF-Token": csrf})).status == 202
    ops = model_ops(app_of(client))
    for _ in range(100):
        if ops.job and ops.job.process is not None:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)
    resp = await client.post("/ops/models/cancel", headers={**JSON, "X-CSRF-Token": csrf})
    assert resp.status == 200, await resp.text()
    job = await wait_job(client, 60)
    assert job["status"] == "cancelled"
    assert not list((tmp_path / "models").glob("*.tar.gz"))
    # the lock is free again: a new job may start
    assert not ops.other_process_busy()


@pytest.mark.slow
@pytest.mark.e2e
async def test_train_evaluate_activate_and_roll_back_in_the_real_rasa(aiohttp_client: Any, tmp_path: Path,
                                                                     rasa_stack: Any) -> None:
    needs_rasa_env()
    project = copy_project(tmp_path / "project")
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(rasa_stack.model, models / rasa_stack.model.name)  # the model the stack runs: active
    extra = project / "data" / "nlu" / "operator" / "greet.yml"
    extra.parent.mkdir(parents=True)
    extra.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - moin moin zusammen\n')
    config = Settings.for_tests(tmp_path, rasa_url=rasa_stack.rasa_url, rasa_token=rasa_stack.token,
                                project_dir=project, models_dir=models, train_config=FAST_CONFIG,
                                rasa_tracker_db=f"sqlite:///{rasa_stack.tracker_db}")
    from bot.app import init_app

    client = await aiohttp_client(await init_app(config))
    csrf = await operator(client, "admin")
    headers = {**JSON, "X-CSRF-Token": csrf}
    try:
        html = await (await client.get("/ops/models")).text()
        assert "(stimmt überein)" in html  # the registry adopted the model Rasa runs
        assert (await client.post("/ops/models/train", headers=headers)).status == 202
        job = await wait_job(client)
        assert job["status"] == "succeeded", job["error"]
        assert "DIET Epoche 10/10" in " ".join(job["log"]) or job["epochs"] == 10
        new_id = job["model_id"]
        listing = {m["id"]: m for m in (await (await client.get("/ops/api/models")).json())["models"]}
        assert listing[new_id]["macro_f1"] > 0.5
        active = next(m for m in listing.values() if m["status"] == "active")
        assert active["macro_f1"] is not None  # the active model was evaluated on the same set
        html = await (await client.get(f"/ops/models?model={new_id}")).text()
        assert f"im Vergleich mit dem aktiven Modell #{active['id']}" in html

        resp = await client.post(f"/ops/models/{new_id}/activate", headers=headers)
        if resp.status == 409:  # the fast model may be below the gate: the admin overrides (audited)
            resp = await client.post(f"/ops/models/{new_id}/activate", headers=headers,
                                     json={"reason": "Testlauf mit der schnellen Konfiguration."})
        assert resp.status == 200, await resp.text()
        status = json.loads(stack.http_get(f"{rasa_stack.rasa_url}/status?token={rasa_stack.token}", 10)[1])
        assert status["model_file"] == listing[new_id]["file"]
        assert (models / "active.txt").read_text().strip() == listing[new_id]["file"]
        assert rasa_stack.send("model-switch", "moin moin zusammen")  # answers with the new model

        resp = await client.post(f"/ops/models/{active['id']}/rollback", headers=headers)
        assert resp.status == 200, await resp.text()
        status = json.loads(stack.http_get(f"{rasa_stack.rasa_url}/status?token={rasa_stack.token}", 10)[1])
        assert status["model_file"] == rasa_stack.model.name
        actions = [e.action for e in await app_of(client)[ACCOUNTS].audit_entries()]
        assert "model_train" in actions and "model_rollback" in actions
        assert "model_activate" in actions or "model_activate_override" in actions
    finally:
        # whatever happened: the shared stack serves its own model again
        async with aiohttp.ClientSession() as session, session.put(
                f"{rasa_stack.rasa_url}/model", params={"token": rasa_stack.token},
                json={"model_file": str(rasa_stack.model)}, timeout=aiohttp.ClientTimeout(total=300)) as resp:
            assert resp.status == 204


# --- command line ---------------------------------------------------------------------------------------

def run_cli(tmp_path: Path, *args: str, **env: str) -> Any:
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if not k.startswith("KRISENLOTSE_")}
    environ.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                    "KRISENLOTSE_PROJECT_DIR": str(tmp_path), "KRISENLOTSE_MODELS_DIR": str(tmp_path / "models"),
                    **env})
    return subprocess.run([sys.executable, "-m", "bot", "model", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def test_cli_lists_the_registry_and_explains_what_is_missing(tmp_path: Path, dead_url: str) -> None:
    fake_model(tmp_path / "models", "krisenlotse.tar.gz")
    done = run_cli(tmp_path, "list")
    assert done.returncode == 0, done.stderr
    assert "krisenlotse.tar.gz" in done.stdout and "make train" in done.stdout and "ready" in done.stdout
    done = run_cli(tmp_path, "activate", "1")
    assert done.returncode == 1 and "KRISENLOTSE_RASA_TOKEN fehlt" in done.stderr
    done = run_cli(tmp_path, "rollback", KRISENLOTSE_RASA_TOKEN="x" * 20, KRISENLOTSE_RASA_URL=dead_url)
    assert done.returncode == 1 and "kein älteres Modell" in done.stderr
    done = run_cli(tmp_path, "evaluate", "7")
    assert done.returncode == 1 and "Modell #7 ist nicht (mehr) vorhanden" in done.stderr
