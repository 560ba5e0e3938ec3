"""Debian's Chromium, headless, driven by Playwright: what a person would see, and what it asked for."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field

from conftest import REPO

SHOTS = REPO / "test-output"


@dataclass
class Watch:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def remote_requests(self, allowed: tuple[str, ...] = ("file://", "data:")) -> list[str]:
        return [url for url in self.requests if not url.startswith(allowed)]


_SHARED: dict = {}  # Playwright and the Chromium it launched, for the whole test run


def _browser():
    """Headless Chromium, launched on first use and kept for the run (`close_shared` ends it)."""
    browser = _SHARED.get("browser")
    if browser is None or not browser.is_connected():
        from playwright.sync_api import sync_playwright

        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        assert executable, "Chromium is missing: apt-get install chromium (make test does this)"
        if "playwright" not in _SHARED:
            _SHARED["playwright"] = sync_playwright().start()
        browser = _SHARED["browser"] = _SHARED["playwright"].chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
    return browser


def close_shared() -> None:
    """End the run's Chromium and Playwright (conftest calls this as the run ends)."""
    if "browser" in _SHARED:
        _SHARED.pop("browser").close()
    if "playwright" in _SHARED:
        _SHARED.pop("playwright").stop()


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A fresh page in headless Chromium and a record of its console errors and requests. The
    page has a browser context of its own (no cookies, storage or cache of another page's), in
    the one Chromium of the test run (a launch costs about a second)."""
    watch = Watch()
    context = _browser().new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
        page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
        page.on("request", lambda r: watch.requests.append(r.url))
        yield page, watch
    finally:
        context.close()


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)
