"""Fixtures for the browser tests: headless Debian Chromium driven by Playwright, and the real web app.

The ``rasa_stack`` fixture (real Rasa + action server on free loopback ports) comes from
tests/support/stack.py, which tests/conftest.py loads with ``pytest_plugins`` (pytest accepts that line
only in the top-level conftest). Here the real web app (``python -m bot``) is started as a subprocess
against that stack, on a free port with a temporary SQLite database.

Chromium is Debian's /usr/bin/chromium (``apt-get install chromium``); Playwright never downloads a
browser here. Without it the tests skip, unless KRISENLOTSE_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import skip_or_fail
from tools import stack

CHROMIUM = Path(os.environ.get("KRISENLOTSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}
TABLET = {"width": 800, "height": 1100}
VENDOR = Path(__file__).parent / "vendor"


# --- the web app ----------------------------------------------------------------------------------


@dataclass
class WebApp:
    """A running ``python -m bot`` on loopback."""

    url: str
    service: stack.Service
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def get(self, path: str) -> tuple[int, Any]:
        status, body = stack.http_get(self.url + path, 10)
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, body

    def restart(self) -> None:
        self.service.stop()
        self.start()

    def start(self) -> None:
        self.service.start()
        self.service.wait_ready(60)


def start_web_app(tmp: Path, rasa_url: str, rasa_token: str, actions_url: str, tracker_db: Path,
                  port: int | None = None, extra_env: dict[str, str] | None = None) -> WebApp:
    """``port``/``extra_env``: e.g. the port the action server hands cases to and KRISENLOTSE_INTERNAL_TOKEN."""
    port = port or stack.free_port()
    env = {
        "KRISENLOTSE_HOST": "127.0.0.1",
        "KRISENLOTSE_PORT": str(port),
        "KRISENLOTSE_RASA_URL": rasa_url,
        "KRISENLOTSE_RASA_TOKEN": rasa_token,
        "KRISENLOTSE_ACTIONS_URL": actions_url,
        "KRISENLOTSE_RASA_TIMEOUT": "30",
        "KRISENLOTSE_SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'web.db'}",
        "KRISENLOTSE_RASA_TRACKER_DB": f"sqlite:///{tracker_db}",
        # the browser tests are not about rate limits: all their requests come from 127.0.0.1
        "KRISENLOTSE_RATE_LIMIT_SESSION": "600",
        "KRISENLOTSE_RATE_LIMIT_ADDRESS": "6000",
        **(extra_env or {}),
    }
    service = stack.Service("web app", [sys.executable, "-m", "bot"], stack.base_env() | env,
                            tmp / "web.log", f"http://127.0.0.1:{port}/healthz")
    app = WebApp(f"http://127.0.0.1:{port}", service, tmp, env)
    app.start()
    return app


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium chromium-driver)")
    return CHROMIUM


@pytest.fixture(scope="session")
def web_app(chromium_path: Path, rasa_stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The real web app in front of the real Rasa and action server."""
    app = start_web_app(tmp_path_factory.mktemp("web"), rasa_stack.rasa_url, rasa_stack.token,
                        rasa_stack.actions_url, rasa_stack.tracker_db)
    try:
        status, body = 0, None
        for _ in range(60):
            status, body = app.get("/readyz")
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, f"/readyz answered {status}: {body}\n{app.service.tail()}"
        yield app
    finally:
        app.service.stop()


@pytest.fixture(scope="session")
def bare_web_app(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The real web app with nothing behind it (Rasa "down"): pages, consent, rendering, offline."""
    tmp = tmp_path_factory.mktemp("web_bare")
    dead = f"http://127.0.0.1:{stack.free_port()}"
    app = start_web_app(tmp, dead, secrets.token_urlsafe(24), dead, tmp / "tracker.db")
    try:
        yield app
    finally:
        app.service.stop()


# --- the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_instance(chromium_path: Path) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[web,dev]')")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Any, chromium_path: Path) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(executable_path=str(chromium_path), headless=True,
                                                  args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass(eq=False)
class PageWatch:
    """What a browser context did: JavaScript errors, console errors and every URL it requested."""

    errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        WATCHES[page] = self
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("request", lambda req: self.requests.append(req.url))

    def assert_clean(self, origin: str) -> None:
        assert not self.errors, f"JavaScript errors: {self.errors}"
        assert not self.console_errors, f"console errors (CSP violations, failed requests …): {self.console_errors}"
        foreign = [u for u in self.requests if not u.startswith((origin + "/", "data:", "blob:"))]
        assert not foreign, f"requests to other servers: {foreign}"


@dataclass
class Browsing:
    """A fresh browser context (own localStorage) with watched pages."""

    context: Any
    watch: PageWatch
    base_url: str

    def new_page(self) -> Any:
        page = self.context.new_page()
        self.watch.attach(page)
        return page


#: page → its PageWatch (so that run_axe can leave out what axe itself causes)
WATCHES: weakref.WeakKeyDictionary[Any, PageWatch] = weakref.WeakKeyDictionary()

#: Chromium reports CSP violations on the console without saying where; this says where.
CSP_REPORTER = """document.addEventListener('securitypolicyviolation', (e) => console.error(
    `CSP violation: ${e.violatedDirective} by ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`),
    true);"""


def open_context(browser: Any, base_url: str, viewport: dict[str, int] = DESKTOP, **options: Any) -> Browsing:
    context = browser.new_context(viewport=viewport, locale="de-DE", timezone_id="Europe/Berlin",
                                  base_url=base_url, **options)
    context.set_default_timeout(15_000)
    context.add_init_script(CSP_REPORTER)
    return Browsing(context, PageWatch(), base_url)


@pytest.fixture
def browsing(browser: Any, web_app: WebApp) -> Iterator[Browsing]:
    """A desktop browser context on the real stack; fails the test on JS errors or foreign requests."""
    b = open_context(browser, web_app.url, reduced_motion="reduce")
    yield b
    b.context.close()
    b.watch.assert_clean(web_app.url)


@pytest.fixture
def bare_browsing(browser: Any, bare_web_app: WebApp) -> Iterator[Browsing]:
    b = open_context(browser, bare_web_app.url, reduced_motion="reduce")
    yield b
    b.context.close()
    # console errors are expected here (Rasa is down, the offline test stops the server): only JS errors count
    assert not b.watch.errors, f"JavaScript errors: {b.watch.errors}"


# --- axe-core -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    return (VENDOR / "axe.min.js").read_text(encoding="utf-8")


def run_axe(page: Any, source: str) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page (shadow roots included); its violations."""
    watch = WATCHES.get(page)
    seen = len(watch.console_errors) if watch else 0
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # evaluate() is not subject to the page's CSP (an injected <script> element would be)
        page.evaluate(source + "\n;undefined")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                resultTypes: ['violations'],
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))}));
        }"""
    )
    if watch:
        # axe adds a <style> element of its own, which the page's CSP rightly refuses
        del watch.console_errors[seen:]
    return result


def assert_no_serious_violations(violations: list[dict[str, Any]], where: str) -> None:
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe: serious/critical violations on {where}:\n" + json.dumps(serious, indent=1,
                                                                                       ensure_ascii=False)


@pytest.fixture
def axe(axe_source: str):  # noqa: ANN201 - returns a checker
    def check(page: Any, where: str) -> list[dict[str, Any]]:
        violations = run_axe(page, axe_source)
        assert_no_serious_violations(violations, where)
        return violations

    return check
