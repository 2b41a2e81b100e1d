"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) for page tests.

    from tests.e2e.browser import browser  # noqa: F401  (the fixture)
    from tests.e2e.browser import open_page

    def test_page(browser, server):
        with open_page(browser, f"{server}/docs") as (page, errors):
            assert page.title() == "..."
            assert errors == []

`errors` collects, as text, console errors (failed loads included), uncaught page errors and
failed requests, for as long as the page is open.
"""
from contextlib import contextmanager

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium():
    """A headless Chromium browser, closed on exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser():
    """One browser per test module. Not per session: each module that imports this fixture gets
    its own, and a second Playwright sync instance cannot start while another one runs."""
    with chromium() as instance:
        yield instance


@contextmanager
def open_page(browser, url, headers=None, permissions=(), viewport=None):
    """(page, errors) for `url`, loaded in a fresh context (its own cookies and storage).

    `headers` go with every request; `permissions` are granted (e.g. "clipboard-read");
    `viewport` is {"width": .., "height": ..}.
    """
    context = browser.new_context(extra_http_headers=headers, permissions=list(permissions),
                                  viewport=viewport)
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda message: message.type == "error" and errors.append(
            f"{message.text} at {message.location.get('url')}"))
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: errors.append(
            f"request failed: {request.url} {request.failure}"))
        page.goto(url, wait_until="load")
        yield page, errors
    finally:
        context.close()
