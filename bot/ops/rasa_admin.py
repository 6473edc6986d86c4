"""Rasa's HTTP API for the model switch: ``PUT /model`` loads a model into the running server (no restart;
conversations stay in the tracker store), ``GET /status`` says which model it runs. Token in the query
string, loopback only (README: Rasa binds to 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

# Loading a model into a running Rasa takes seconds to a minute on two busy cores.
LOAD_TIMEOUT = 300.0


class RasaAdminError(RuntimeError):
    """Rasa did not load the model or does not report it (the message says why, in German)."""


@dataclass(frozen=True)
class RasaStatus:
    model_file: str | None
    model_id: str | None
    training_jobs: int


class RasaAdmin:
    def __init__(self, session: aiohttp.ClientSession, rasa_url: str, token: str) -> None:
        self.session = session
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token

    async def status(self, timeout: float = 5.0) -> RasaStatus:
        try:
            async with self.session.get(f"{self.rasa_url}/status", params={"token": self.token},
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status != 200:
                    raise RasaAdminError(f"Rasa meldet Status {resp.status} auf /status.")
                body: dict[str, Any] = await resp.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaAdminError(f"Rasa ist nicht erreichbar ({type(exc).__name__}).") from exc
        return RasaStatus(body.get("model_file"), body.get("model_id"), int(body.get("num_active_training_jobs") or 0))

    async def load_model(self, path: Path, expected_model_id: str | None = None,
                         timeout: float = LOAD_TIMEOUT) -> tuple[RasaStatus, float]:
        """PUT /model with ``path`` (absolute: Rasa runs in another folder), then verify with /status; returns the status and the seconds it took."""
        start = time.perf_counter()
        try:
            async with self.session.put(f"{self.rasa_url}/model", params={"token": self.token},
                                        json={"model_file": str(path)},
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status != 204:
                    detail = (await resp.text())[:300]
                    raise RasaAdminError(f"Rasa hat das Modell nicht geladen (Status {resp.status}): {detail}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaAdminError(f"Rasa ist beim Laden des Modells nicht erreichbar ({type(exc).__name__}).") \
                from exc
        status = await self.status()
        seconds = time.perf_counter() - start
        if status.model_file != path.name:
            raise RasaAdminError(f"Rasa meldet nach dem Wechsel das Modell {status.model_file!r} statt "
                                 f"{path.name!r}.")
        if expected_model_id and status.model_id != expected_model_id:
            raise RasaAdminError(f"Rasa meldet die Modell-ID {status.model_id!r} statt {expected_model_id!r}.")
        return status, seconds
