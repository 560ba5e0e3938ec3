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


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A fresh page in headless Chromium and a record of its console errors and requests."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: apt-get install chromium (make test does this)"
    watch = Watch()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
            page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
            page.on("request", lambda r: watch.requests.append(r.url))
            yield page, watch
        finally:
            browser.close()


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)
