"""The model registry: every trained Rasa model in the database (table ``nlu_models``, bot/models.py) with
its file in the models folder, data fingerprint, evaluation, who trained it, when, and its status.

Statuses: ``ready`` (kept on disk, may be activated), ``active`` (the model Rasa serves; at most one),
``failed`` / ``cancelled`` (training runs that produced no model), ``removed`` (file deleted because only
the newest ``keep`` models stay on disk). The active model's file name is also written to
``<models_dir>/active.txt`` so that ``make run`` starts Rasa with it after a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.models import NluModel, utcnow

ACTIVE_POINTER = "active.txt"
KEPT = ("ready", "active")


def read_active_pointer(models_dir: Path) -> str | None:
    """The file name in ``<models_dir>/active.txt`` (None when missing or pointing nowhere)."""
    try:
        name = (models_dir / ACTIVE_POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if name and "/" not in name and (models_dir / name).is_file() else None


def write_active_pointer(models_dir: Path, file_name: str) -> None:
    """Atomically replace ``<models_dir>/active.txt``."""
    models_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=models_dir, prefix=".active-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(file_name + "\n")
    os.replace(tmp, models_dir / ACTIVE_POINTER)


def read_rasa_model_id(path: Path) -> str | None:
    """The ``model_id`` Rasa wrote into the archive's metadata.json (what Rasa's /status reports)."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name.lstrip("/") == "metadata.json":
                    handle = archive.extractfile(member)
                    return json.load(handle).get("model_id") if handle else None
    except (OSError, tarfile.TarError, ValueError):
        return None
    return None


def model_files(models_dir: Path) -> dict[str, os.stat_result]:
    """The model archives in the folder (not in sub-folders such as the training staging folder)."""
    return {p.name: p.stat() for p in models_dir.glob("*.tar.gz")} if models_dir.is_dir() else {}


class ModelRegistry:
    """Queries and changes of the ``nlu_models`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def add(self, *, file_name: str | None, status: str, trained_by: str, trained_by_id: int | None = None,
                  fingerprint: str | None = None, rasa_model_id: str | None = None,
                  train_config: str | None = None, training_seconds: float | None = None,
                  size_bytes: int | None = None, note: str | None = None,
                  created_at: datetime | None = None) -> NluModel:
        record = NluModel(file_name=file_name, status=status, trained_by=trained_by, trained_by_id=trained_by_id,
                          fingerprint=fingerprint, rasa_model_id=rasa_model_id, train_config=train_config,
                          training_seconds=training_seconds, size_bytes=size_bytes, note=note,
                          created_at=created_at or utcnow())
        async with self.sessions.begin() as db:
            db.add(record)
        return record

    async def get(self, model_id: int) -> NluModel | None:
        async with self.sessions() as db:
            return await db.get(NluModel, model_id)

    async def all(self, limit: int = 100) -> list[NluModel]:
        """Newest first."""
        async with self.sessions() as db:
            return list(await db.scalars(select(NluModel).order_by(NluModel.created_at.desc(), NluModel.id.desc())
                                         .limit(limit)))

    async def kept(self) -> list[NluModel]:
        """Models whose file is on disk (ready or active), newest first."""
        async with self.sessions() as db:
            return list(await db.scalars(select(NluModel).where(NluModel.status.in_(KEPT))
                                         .order_by(NluModel.created_at.desc(), NluModel.id.desc())))

    async def active(self) -> NluModel | None:
        async with self.sessions() as db:
            return await db.scalar(select(NluModel).where(NluModel.status == "active").limit(1))

    async def by_file(self, file_name: str) -> NluModel | None:
        async with self.sessions() as db:
            return await db.scalar(select(NluModel).where(NluModel.file_name == file_name)
                                   .order_by(NluModel.id.desc()).limit(1))

    async def by_fingerprint(self, fingerprint: str) -> NluModel | None:
        """The newest kept model trained on exactly this data and configuration."""
        async with self.sessions() as db:
            return await db.scalar(select(NluModel).where(NluModel.fingerprint == fingerprint,
                                                          NluModel.status.in_(KEPT))
                                   .order_by(NluModel.created_at.desc(), NluModel.id.desc()).limit(1))

    async def rollback_target(self) -> NluModel | None:
        """The newest kept model older than the active one, preferably one that served before."""
        active = await self.active()
        if active is None:
            return None
        older = [m for m in await self.kept() if m.created_at < active.created_at]
        served = [m for m in older if m.activated_at is not None]
        return (served or older or [None])[0]

    async def set_metrics(self, model_id: int, metrics: dict[str, Any] | None = None,
                          cross_validation: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"evaluated_at": utcnow()}
        if metrics is not None:
            values["metrics"] = metrics
        if cross_validation is not None:
            values["cross_validation"] = cross_validation
        async with self.sessions.begin() as db:
            await db.execute(update(NluModel).where(NluModel.id == model_id).values(**values))

    async def set_rasa_model_id(self, model_id: int, rasa_model_id: str | None) -> None:
        async with self.sessions.begin() as db:
            await db.execute(update(NluModel).where(NluModel.id == model_id).values(rasa_model_id=rasa_model_id))

    async def mark_active(self, model_id: int) -> NluModel | None:
        """Make ``model_id`` the only active model; returns the model that was active before (or None)."""
        async with self.sessions.begin() as db:
            previous = await db.scalar(select(NluModel).where(NluModel.status == "active",
                                                              NluModel.id != model_id).limit(1))
            await db.execute(update(NluModel).where(NluModel.status == "active", NluModel.id != model_id)
                             .values(status="ready"))
            await db.execute(update(NluModel).where(NluModel.id == model_id)
                             .values(status="active", activated_at=utcnow()))
        return previous

    async def mark_removed(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        async with self.sessions.begin() as db:
            await db.execute(update(NluModel).where(NluModel.id.in_(ids)).values(status="removed"))

    async def prune(self, models_dir: Path, keep: int) -> list[NluModel]:
        """Delete the files of all but the newest ``keep`` kept models (never the active one); returns them."""
        kept = await self.kept()
        survivors = [m for m in kept if m.status == "active"]
        for record in kept:
            if len(survivors) >= keep:
                break
            if record not in survivors:
                survivors.append(record)
        doomed = [m for m in kept if m not in survivors]
        for record in doomed:
            if record.file_name:
                (models_dir / record.file_name).unlink(missing_ok=True)
        await self.mark_removed(m.id for m in doomed)
        return doomed

    async def sync_with_disk(self, models_dir: Path, running_file: str | None = None) -> None:
        """Register model files nobody registered yet (e.g. from ``make train``), mark kept models whose
        file vanished as removed, and adopt the model Rasa runs as active when no model is active."""
        files = await asyncio.to_thread(model_files, models_dir)
        kept = await self.kept()
        known = {m.file_name for m in await self.all(limit=10_000) if m.file_name}
        await self.mark_removed(m.id for m in kept if m.file_name not in files)
        for name, stat in sorted(files.items(), key=lambda item: item[1].st_mtime):
            if name in known:
                continue
            await self.add(file_name=name, status="ready", trained_by="make train",
                           size_bytes=stat.st_size, note="Außerhalb der Konsole trainiert (übernommen).",
                           created_at=datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc))
        if await self.active() is None:
            current = running_file or read_active_pointer(models_dir)
            record = await self.by_file(current) if current else None
            if record is not None and record.status in KEPT:
                await self.mark_active(record.id)
