"""/docs and /openapi.json from the server under gunicorn, in headless Chromium."""
import json
from pathlib import Path

import requests
from openapi_spec_validator import validate
from playwright.sync_api import expect

from tests.conftest import AUTH
from tests.conftest import KEY
from tests.e2e.browser import browser  # noqa: F401  (the fixture)
from tests.e2e.browser import open_page

JS_EXAMPLE = (Path(__file__).resolve().parent.parent / "js" / "docs_example.js").read_text()


def test_docs_page_loads_without_errors_and_shows_this_server(browser, server):
    with open_page(browser, f"{server}/docs") as (page, errors):
        assert page.title() == "ZtoApi Documentation"
        assert page.locator("h1").inner_text() == "ZtoApi Documentation"
        assert page.locator("#base-url").inner_text() == f"{server}/v1"
        assert page.locator(".code-head span").all_inner_texts() == ["JSON", "Python", "Shell", "JavaScript"]
        assert f'base_url="{server}/v1"' in page.locator("code.language-python").inner_text()
        assert errors == []


def test_docs_page_lists_the_models_of_v1_models(browser, server):
    ids = [model["id"] for model in requests.get(f"{server}/v1/models", headers=AUTH, timeout=5).json()["data"]]
    with open_page(browser, f"{server}/docs") as (page, errors):
        assert page.locator("table.models tbody td:first-child").all_inner_texts() == ids
        listed = json.loads(page.locator("code.language-json").inner_text())
        assert [model["id"] for model in listed["data"]] == ids
        assert errors == []


def test_docs_page_holds_no_secret(browser, server):
    with open_page(browser, f"{server}/docs") as (page, errors):
        assert KEY not in page.content()
        assert "Bearer sk-your-key" in page.locator("code.language-bash").inner_text()


def test_copy_button_copies_the_javascript_example(browser, server):
    with open_page(browser, f"{server}/docs", permissions=["clipboard-read", "clipboard-write"]) as (
            page, errors):
        button = page.get_by_role("button", name="Copy the JavaScript code")
        button.click()
        expect(button).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        shown = JS_EXAMPLE.replace("http://localhost:9090", server).replace("your-api-key", "sk-your-key")
        assert copied == shown.rstrip("\n")
        assert errors == []


def test_docs_page_fits_a_phone_screen(browser, server):
    with open_page(browser, f"{server}/docs", viewport={"width": 375, "height": 800}) as (page, errors):
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.locator("nav.contents").is_visible()
        assert errors == []


def test_openapi_link_serves_a_valid_spec_for_this_server(browser, server):
    # fetched by the page, not opened: Chromium asks a JSON document's server for /favicon.ico
    with open_page(browser, f"{server}/docs") as (page, errors):
        link = page.get_by_role("link", name="OpenAPI", exact=True)
        text = page.evaluate("url => fetch(url).then(response => response.text())",
                             link.evaluate("a => a.href"))
        assert errors == []
    assert KEY not in text
    spec = json.loads(text)
    assert spec["servers"] == [{"url": server}]
    validate(spec)
