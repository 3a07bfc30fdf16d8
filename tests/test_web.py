"""The one-page UI in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Screenshots go to reports/screenshots/ (override with DOMAINLLM_SCREENSHOTS) so a person can
look at what the test saw. Install the browser with
``apt-get install -y --no-install-recommends chromium``; never ``playwright install``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from servefakes import UNSAFE_WORD, FakeEngine, fake_answer, serving
from test_availability import boot, rdap  # noqa: F401 (fixtures: the fake RDAP server)

from domainllm.contract import BLOCKED_MESSAGE, Request

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SHOTS = Path(
    os.environ.get("DOMAINLLM_SCREENSHOTS", Path(__file__).parents[1] / "reports/screenshots")
)

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason="needs /usr/bin/chromium: apt-get install -y --no-install-recommends chromium",
    ),
]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


def test_page_shows_suggestions_with_bars_and_refusal(browser) -> None:  # type: ignore[no-untyped-def]
    eng = FakeEngine()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serving(eng) as (url, _):
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        page.goto(url + "/")
        page.wait_for_selector("#status:has-text('model ready')")
        desc = "organic coffee shop in Portland with vegan pastries"
        page.fill("#description", desc)
        page.check("input[value='.io']")
        page.check("#prefer_puns")
        page.fill("#n", "4")
        page.click("#submit")
        rows = page.locator(".suggestion")
        rows.first.wait_for()
        assert rows.count() == 4
        domains = page.locator(".suggestion .domain").all_text_contents()
        sent = Request(description=desc, tlds=[".com", ".io"], prefer_puns=True, n=4)
        assert domains == [x.domain for x in fake_answer(sent).suggestions]
        widths = [
            b.evaluate("e => e.getBoundingClientRect().width") for b in page.locator(".bar").all()
        ]
        assert all(w > 0 for w in widths) and widths == sorted(widths, reverse=True)
        assert page.locator(".conf").first.text_content() == "0.90"
        page.screenshot(path=str(SHOTS / "web_suggestions.png"), full_page=True)

        page.fill("#description", f"an online {UNSAFE_WORD} for teenagers")
        page.click("#submit")
        refusal = page.locator(".refusal")
        refusal.wait_for()
        assert BLOCKED_MESSAGE in refusal.text_content()
        assert page.locator(".suggestion").count() == 0
        page.screenshot(path=str(SHOTS / "web_refusal.png"), full_page=True)

        page.fill("#description", "   ")  # the API's 422 message is shown, not a blank page
        page.evaluate("document.getElementById('description').removeAttribute('required')")
        page.click("#submit")
        page.locator(".error").wait_for()
        assert "description" in page.locator(".error").text_content()
        page.close()
    assert eng.batches == [1, 1]  # the 422 never reached the engine


@pytest.mark.usefixtures("boot")  # DOMAINLLM_RDAP_BOOTSTRAP names the fake for .com
def test_page_checks_availability_when_ticked(browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The checkbox adds a free / taken mark to each name (fake RDAP on loopback: `taken*`
    registered, others free); unticked, no mark is shown."""
    from test_availability import checker

    with serving(FakeEngine()) as (url, app):
        app.state.availability = checker(tmp_path)
        page = browser.new_page(viewport={"width": 1000, "height": 760})
        page.goto(url + "/")
        page.wait_for_selector("#status:has-text('model ready')")
        page.fill("#description", "taken coffee")
        page.fill("#n", "3")
        page.click("#submit")
        page.locator(".suggestion").first.wait_for()
        assert page.locator(".avail").count() == 0  # not asked: the contract as it is
        page.check("#check_availability")
        page.click("#submit")
        page.locator(".avail").first.wait_for()
        assert page.locator(".avail").all_text_contents() == ["taken"] * 3
        page.fill("#description", "free coffee")
        page.click("#submit")
        page.wait_for_selector(".suggestion .domain:has-text('freecoffee')")
        assert page.locator(".avail").all_text_contents() == ["free"] * 3
        page.screenshot(path=str(SHOTS / "web_availability.png"), full_page=True)
        page.close()
