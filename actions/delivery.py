"""Handing cases to the web app's internal API (docs/escalation-contract.md), with retries.

- ``WebAppClient``: the three internal calls (create case, staff online, live handover), each with a
  time-out, ``Authorization: Bearer $KRISENLOTSE_INTERNAL_TOKEN``, never following redirects.
- ``deliver_now``: what action_submit_case does right after storing a case in the outbox: a few quick
  attempts within DELIVERY_BUDGET seconds (well below Rasa's 60 s lock lifetime).
- ``deliver_due`` / ``run_retry_loop``: the action server's background task that delivers pending cases
  every few seconds until the web app takes them.

Outcome of ``POST /internal/v1/cases``: 200/201 delivered; 401, 408, 429, 5xx and no answer: try again;
any other 4xx: refused for good (the case stays in the outbox as ``failed``, logged with its number).
Logs name cases by number only; no contact data, no description.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.outbox import Outbox, OutboxError, path_from_env

logger = logging.getLogger(__name__)

ENV_URL = "KRISENLOTSE_WEB_INTERNAL_URL"
ENV_TOKEN = "KRISENLOTSE_INTERNAL_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_INTERVAL = "KRISENLOTSE_OUTBOX_RETRY_SECONDS"
DEFAULT_URL = "http://127.0.0.1:8080"
OFF_VALUES = frozenset({"", "off", "none", "offline"})

#: Seconds action_submit_case may spend delivering a new case before it answers the user.
DELIVERY_BUDGET = 5.0
#: Time-out of one attempt inside that budget.
ATTEMPT_TIMEOUT = 2.0
#: Pause before the second attempt (doubles each time, at most MAX_PAUSE).
FIRST_PAUSE = 0.25
MAX_PAUSE = 2.0
#: Time-outs of the availability check and of the live-handover call.
AVAILABILITY_TIMEOUT = 1.5
LIVE_TIMEOUT = 3.0
#: Retry loop: default interval, time-out per attempt and the longest wait between attempts of one case.
RETRY_INTERVAL = 5.0
RETRY_ATTEMPT_TIMEOUT = 5.0
MAX_BACKOFF = 60.0

RETRYABLE_4XX = frozenset({401, 408, 429})


@dataclass(frozen=True)
class DeliveryConfig:
    """Where the web app's internal API is and how to reach it (from the environment)."""

    base_url: str = DEFAULT_URL
    token: str = ""
    outbox_path: Path = field(default_factory=lambda: path_from_env({}))
    retry_interval: float = RETRY_INTERVAL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliveryConfig:
        raw_interval = env.get(ENV_INTERVAL, "").strip()
        try:
            interval = float(raw_interval) if raw_interval else RETRY_INTERVAL
        except ValueError:
            interval = RETRY_INTERVAL
        return cls(
            base_url=env.get(ENV_URL, DEFAULT_URL).strip().rstrip("/"),
            token=env.get(ENV_TOKEN, "").strip(),
            outbox_path=path_from_env(env),
            retry_interval=min(max(interval, 0.05), 300.0),
        )

    @property
    def offline(self) -> bool:
        """No web app to talk to (no token or URL 'off'): cases wait in the outbox."""
        return self.base_url.casefold() in OFF_VALUES or not self.token


@dataclass(frozen=True)
class Result:
    """Outcome of one call: HTTP status (0 = no answer) and a short error text without personal data."""

    status: int
    error: str = ""
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)

    @property
    def permanent(self) -> bool:
        """Refused for good: another attempt would get the same answer."""
        return 400 <= self.status < 500 and self.status not in RETRYABLE_4XX


def _error_text(status: int, body: Any) -> str:
    text = f"HTTP {status}"
    code = body.get("error") if isinstance(body, dict) else None
    if isinstance(code, str) and code.replace("_", "").isalnum() and len(code) <= 40:
        text += f" {code}"
    return text


class WebAppClient:
    """The web app's internal API; ``offline`` clients answer every call with 'no answer' at once."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config

    @property
    def offline(self) -> bool:
        return self.config.offline

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.token}", "Accept": "application/json"}

    async def _call(self, method: str, path: str, timeout: float, payload: Any = None) -> Result:
        if self.offline:
            return Result(0, "offline (no KRISENLOTSE_INTERNAL_TOKEN or URL off)")
        url = self.config.base_url + path
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=max(timeout, 0.05))
            ) as session:
                async with session.request(
                    method, url, json=payload, headers=self._headers(), allow_redirects=False
                ) as response:
                    try:
                        body = await response.json(content_type=None)
                    except (ValueError, aiohttp.ContentTypeError):
                        body = None
                    return Result(
                        response.status,
                        "" if response.status < 300 else _error_text(response.status, body),
                        body,
                    )
        except asyncio.TimeoutError:
            return Result(0, f"no answer within {timeout:.1f} s")
        except (aiohttp.ClientError, OSError) as exc:
            return Result(0, type(exc).__name__)

    async def post_case(self, payload: dict[str, Any], timeout: float | None = None) -> Result:
        """``POST /internal/v1/cases`` (idempotent on case_number)."""
        return await self._call("POST", "/internal/v1/cases", timeout or ATTEMPT_TIMEOUT, payload)

    async def staff_online(self, unit: str, timeout: float | None = None) -> int | None:
        """Staff of ``unit`` online in the console now; None if the web app does not say."""
        path = f"/internal/v1/units/{quote(unit, safe='')}/availability"
        result = await self._call("GET", path, timeout or AVAILABILITY_TIMEOUT)
        count = result.body.get("staff_online") if result.ok and isinstance(result.body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int):
            return None
        return count

    async def request_live(self, case_number: str, timeout: float | None = None) -> Result:
        """``POST /internal/v1/cases/{case_number}/live``: staff take the chat over."""
        path = f"/internal/v1/cases/{quote(case_number, safe='')}/live"
        return await self._call("POST", path, timeout or LIVE_TIMEOUT, {})


def backoff(attempts: int, interval: float) -> float:
    """Wait before the next attempt of a case that failed ``attempts`` times."""
    return min(interval * 2 ** min(max(attempts - 1, 0), 10), max(MAX_BACKOFF, interval))


async def _settle(outbox: Outbox, case_number: str, payload: dict[str, Any], result: Result) -> None:
    """Record a final answer (delivered / refused) in the outbox and the log."""
    if result.ok:
        await outbox.mark_delivered(case_number, result.status, payload)
        logger.info("Case %s delivered to the web app (HTTP %s)", case_number, result.status)
    else:
        await outbox.mark_failed(case_number, result.status, result.error)
        logger.error(
            "Case %s refused by the web app (%s): kept in the outbox as failed, not retried",
            case_number,
            result.error,
        )


async def deliver_now(
    outbox: Outbox,
    client: WebAppClient,
    payload: dict[str, Any],
    budget: float | None = None,
    attempt_timeout: float | None = None,
) -> Result:
    """Deliver a case just stored in the outbox: quick attempts within ``budget`` seconds.

    Whatever happens, the case is in the outbox: if the web app does not take it now, the retry loop
    delivers it later. Never raises. Defaults: DELIVERY_BUDGET, ATTEMPT_TIMEOUT.
    """
    budget = DELIVERY_BUDGET if budget is None else budget
    attempt_timeout = ATTEMPT_TIMEOUT if attempt_timeout is None else attempt_timeout
    case_number = payload["case_number"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    pause = FIRST_PAUSE
    attempts = 0
    result = Result(0, "not tried")
    try:
        if client.offline:
            await outbox.mark_retry(case_number, 0, "offline", 0, time.time() + client.config.retry_interval)
            logger.warning("Case %s kept in the outbox: no web app configured (%s)", case_number, ENV_TOKEN)
            return result
        while True:
            remaining = deadline - loop.time()
            result = await client.post_case(payload, timeout=min(attempt_timeout, remaining))
            attempts += 1
            if result.ok or result.permanent:
                await _settle(outbox, case_number, payload, result)
                return result
            if result.status == 401:
                logger.warning("Case %s: the web app rejected the token (check %s)", case_number, ENV_TOKEN)
            if deadline - loop.time() < pause + 0.2:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
        retry_in = client.config.retry_interval
        await outbox.mark_retry(case_number, result.status, result.error, attempts, time.time() + retry_in)
        logger.warning(
            "Case %s not delivered yet (%s after %d attempt(s)); stays in the outbox, next try in %.0f s",
            case_number,
            result.error,
            attempts,
            retry_in,
        )
    except OutboxError as exc:
        logger.error(
            "Case %s: outbox not updated (%s); it will be offered to the web app again", case_number, exc
        )
    return result


async def deliver_due(
    outbox: Outbox, client: WebAppClient, attempt_timeout: float | None = None
) -> dict[str, int]:
    """One round of the retry loop: try every pending case that is due once. Returns counts per outcome."""
    attempt_timeout = RETRY_ATTEMPT_TIMEOUT if attempt_timeout is None else attempt_timeout
    counts = {"delivered": 0, "failed": 0, "pending": 0}
    if client.offline:
        return counts
    entries = await outbox.claim_due(lease=max(30.0, 3 * attempt_timeout))
    for entry in entries:
        result = await client.post_case(entry.payload, timeout=attempt_timeout)
        if result.ok or result.permanent:
            await _settle(outbox, entry.case_number, entry.payload, result)
            counts["delivered" if result.ok else "failed"] += 1
            continue
        wait = backoff(entry.attempts + 1, client.config.retry_interval)
        await outbox.mark_retry(entry.case_number, result.status, result.error, 1, time.time() + wait)
        counts["pending"] += 1
        logger.warning(
            "Case %s still not delivered (%s, attempt %d); next try in %.0f s",
            entry.case_number,
            result.error,
            entry.attempts + 1,
            wait,
        )
    return counts


async def run_retry_loop(outbox: Outbox, client: WebAppClient, stop: asyncio.Event) -> None:
    """Deliver due cases every ``retry_interval`` seconds until ``stop`` is set (the server's background task)."""
    interval = client.config.retry_interval
    if client.offline:
        logger.warning(
            "Outbox %s: %s not set or %s off; cases are kept and delivered once the web app is configured",
            outbox.path,
            ENV_TOKEN,
            ENV_URL,
        )
    while not stop.is_set():
        try:
            await deliver_due(outbox, client)
        except OutboxError as exc:
            logger.error("Outbox retry round failed: %s", exc)
        except Exception:  # keep the loop alive whatever one round does
            logger.exception("Outbox retry round failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
