"""The model registry (bot/ops/registry.py) on a real SQLite database migrated by Alembic: records, the one
active model, keeping only the newest N files, adopting models trained outside the console, the pointer
file that ``make run`` honours, and the data fingerprint that lets unchanged data re-use a model."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db import downgrade, make_engine, migrate
from bot.models import utcnow
from bot.ops.registry import (
    ModelRegistry,
    read_active_pointer,
    read_rasa_model_id,
    write_active_pointer,
)
from bot.ops.training import data_fingerprint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[ModelRegistry]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await migrate(engine)
    yield ModelRegistry(engine)
    await engine.dispose()


def fake_model(models_dir: Path, name: str, model_id: str = "m-1") -> Path:
    """A tar.gz shaped like a Rasa model archive (metadata.json with model_id)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / name
    with tarfile.open(path, "w:gz") as archive:
        data = json.dumps({"model_id": model_id, "domain": {}}).encode()
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


async def add(registry: ModelRegistry, models_dir: Path, name: str, minutes_ago: int, **kw) -> int:
    fake_model(models_dir, name)
    record = await registry.add(file_name=name, status="ready", trained_by="op@stadt.example",
                                created_at=utcnow() - timedelta(minutes=minutes_ago), **kw)
    return record.id


async def test_records_and_the_single_active_model(registry: ModelRegistry, tmp_path: Path) -> None:
    models = tmp_path / "models"
    first = await add(registry, models, "a.tar.gz", 30, fingerprint="f1")
    second = await add(registry, models, "b.tar.gz", 20, fingerprint="f2")
    assert [m.id for m in await registry.all()] == [second, first]  # newest first
    assert await registry.active() is None

    assert await registry.mark_active(first) is None
    previous = await registry.mark_active(second)
    assert previous is not None and previous.id == first
    active = await registry.active()
    assert active is not None and active.id == second and active.activated_at is not None
    statuses = {m.id: m.status for m in await registry.all()}
    assert statuses == {first: "ready", second: "active"}
    assert (await registry.by_fingerprint("f1")).id == first
    assert await registry.by_fingerprint("unknown") is None


async def test_metrics_are_stored_as_json(registry: ModelRegistry, tmp_path: Path) -> None:
    model_id = await add(registry, tmp_path / "models", "a.tar.gz", 1)
    figures = {"macro_f1": 0.9, "per_intent": {"greet": {"f1": 1.0}}, "errors": [{"text": "Grüß Gott"}]}
    await registry.set_metrics(model_id, figures, {"folds": 3, "macro_f1": 0.8})
    record = await registry.get(model_id)
    assert record.metrics == figures
    assert record.cross_validation == {"folds": 3, "macro_f1": 0.8}
    assert record.evaluated_at is not None


async def test_prune_keeps_the_newest_n_and_always_the_active_one(registry: ModelRegistry, tmp_path: Path) -> None:
    models = tmp_path / "models"
    ids = [await add(registry, models, f"m{i}.tar.gz", 100 - i) for i in range(6)]  # m5 newest
    await registry.mark_active(ids[0])  # the oldest is the active one
    removed = await registry.prune(models, keep=3)
    assert sorted(m.file_name for m in removed) == ["m1.tar.gz", "m2.tar.gz", "m3.tar.gz"]
    assert sorted(p.name for p in models.glob("*.tar.gz")) == ["m0.tar.gz", "m4.tar.gz", "m5.tar.gz"]
    statuses = {m.file_name: m.status for m in await registry.all()}
    assert statuses == {"m0.tar.gz": "active", "m1.tar.gz": "removed", "m2.tar.gz": "removed",
                        "m3.tar.gz": "removed", "m4.tar.gz": "ready", "m5.tar.gz": "ready"}
    assert await registry.prune(models, keep=3) == []  # nothing more to do


async def test_failed_runs_are_recorded_without_a_file(registry: ModelRegistry, tmp_path: Path) -> None:
    await registry.add(file_name=None, status="failed", trained_by="op@stadt.example", note="kaputt")
    await registry.prune(tmp_path / "models", keep=2)
    (record,) = await registry.all()
    assert record.status == "failed" and record.note == "kaputt"
    assert await registry.kept() == []


async def test_sync_adopts_files_and_the_running_model(registry: ModelRegistry, tmp_path: Path) -> None:
    models = tmp_path / "models"
    fake_model(models, "krisenlotse.tar.gz")
    fake_model(models / ".training", "half-written.tar.gz")  # staging folder: never registered
    await registry.sync_with_disk(models, running_file="krisenlotse.tar.gz")
    (record,) = await registry.all()
    assert record.file_name == "krisenlotse.tar.gz" and record.status == "active"
    assert record.trained_by == "make train"

    await registry.sync_with_disk(models, running_file="krisenlotse.tar.gz")  # idempotent
    assert len(await registry.all()) == 1

    (models / "krisenlotse.tar.gz").unlink()  # deleted by hand
    await registry.sync_with_disk(models)
    (record,) = await registry.all()
    assert record.status == "removed"


async def test_rollback_target_is_the_newest_older_model_that_served(registry: ModelRegistry,
                                                                     tmp_path: Path) -> None:
    models = tmp_path / "models"
    old = await add(registry, models, "old.tar.gz", 50)
    served = await add(registry, models, "served.tar.gz", 40)
    never = await add(registry, models, "never.tar.gz", 30)
    current = await add(registry, models, "current.tar.gz", 20)
    await add(registry, models, "newer.tar.gz", 10)
    await registry.mark_active(served)
    await registry.mark_active(current)
    assert (await registry.rollback_target()).id == served
    assert never != served and old != served


def test_active_pointer_round_trip(tmp_path: Path) -> None:
    models = tmp_path / "models"
    assert read_active_pointer(models) is None
    fake_model(models, "a.tar.gz")
    write_active_pointer(models, "a.tar.gz")
    assert read_active_pointer(models) == "a.tar.gz"
    (models / "a.tar.gz").unlink()
    assert read_active_pointer(models) is None  # a pointer to a missing file is ignored
    (models / "active.txt").write_text("../../etc/passwd\n")
    assert read_active_pointer(models) is None


def test_model_id_is_read_from_the_archive(tmp_path: Path) -> None:
    assert read_rasa_model_id(fake_model(tmp_path, "x.tar.gz", "abc123")) == "abc123"
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tar")
    assert read_rasa_model_id(tmp_path / "broken.tar.gz") is None


def test_data_fingerprint_changes_with_data_and_config_only(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "data", project / "data")
    shutil.copy(ROOT / "domain.yml", project / "domain.yml")
    config = ROOT / "config.yml"
    first = data_fingerprint(project, config)
    assert data_fingerprint(project, config) == first
    (project / "models").mkdir()
    (project / "models" / "x.tar.gz").write_bytes(b"x")  # models are not data
    assert data_fingerprint(project, config) == first
    target = project / "data" / "nlu" / "operator" / "greet.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - moin moin\n')
    assert data_fingerprint(project, config) != first
    assert data_fingerprint(project, ROOT / "tests" / "support" / "config-fast.yml") != \
        data_fingerprint(project, config)


async def test_migration_0004_down_and_up(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate(engine)
        await downgrade(engine, "0003_nlu_inbox")
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync))
        assert "nlu_models" not in names
        await migrate(engine)
        registry = ModelRegistry(engine)
        await registry.add(file_name="a.tar.gz", status="ready", trained_by="x")
        assert len(await registry.all()) == 1
    finally:
        await engine.dispose()
