"""A real headless Chromium for the HTML report tests, driven by playwright.

The browser is the system's (Debian's ``chromium``, which .ci/run installs): playwright's own
browser download needs the internet. Where neither a Chromium nor playwright is present, the
tests that need one are skipped with the reason (``pytest -rs`` prints it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium here: .ci/run installs Debian's chromium with apt-get, which failed or was not run")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Opened:
    """A loaded page and what it did while loading and afterwards."""

    page: Any
    problems: list[str] = field(default_factory=list)  # console errors and warnings, uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    def shown_keys(self) -> list[str]:
        """The keys of the groups listed now, across every page of the browser."""
        page = self.page
        keys: list[str] = []
        while True:
            keys += page.eval_on_selector_all("#groups .group", "els => els.map(e => e.dataset.key)")
            if page.is_disabled("#next"):
                break
            page.click("#next")
        while not page.is_disabled("#prev"):
            page.click("#prev")
        return keys

    def count(self) -> str:
        return self.page.inner_text("#count")


def open_report(browser: Any, path: Path) -> Opened:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    opened = Opened(page)
    page.on("console", lambda m: opened.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: opened.problems.append(f"uncaught: {e}"))
    page.on("request", lambda r: opened.requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("#count:not(:empty)")
    return opened
