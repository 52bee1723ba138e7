"""The 90-day bars in a real Chromium, from the demo's months of history: words on hover and
focus, details on click and tap, 30 days on a phone; and axe-core finds no serious or
critical violation on `/travaux/` and a service page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, screenshot

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "fr-FR"}


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output


def _section(page, name: str) -> None:
    """A screenshot of the services' section alone (a phone's full page is very long)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("section[aria-labelledby=services-title], section[aria-labelledby=days-title]"
                 ).first.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _marked_day(page):
    """The summary of the last day of Messagerie's bars that names an incident."""
    return page.locator("#uptime-mail .uptime-day:not(.state-operational) summary").last


def test_the_bars_tell_each_day_on_hover_focus_and_click(demo, page, live_server):
    page.goto(f"{live_server}/travaux/")
    bars = page.locator("#uptime-mail .uptime-bars .uptime-day")
    expect(bars).to_have_count(90)
    assert bars.nth(0).is_visible()
    day = _marked_day(page)
    day.hover()
    tip = day.locator(".uptime-tip")
    assert tip.is_visible() and tip.bounding_box()["width"] > 60
    assert "Panne majeure" in tip.inner_text() or "Panne partielle" in tip.inner_text()
    screenshot(page, "uptime-status-desktop-hover")
    page.mouse.move(0, 0)
    day.focus()
    assert tip.bounding_box()["width"] > 60  # keyboard focus shows the same words
    day.press("Enter")
    details = day.locator("xpath=..").locator(".uptime-details")
    assert details.is_visible()
    link = details.get_by_role("link").first
    assert link.get_attribute("href").startswith("/travaux/incidents/")
    _section(page, "uptime-status-desktop-open")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1200  # nothing overflows
    link.click()
    page.wait_for_url("**/travaux/incidents/*")


def test_a_phone_shows_30_days_and_opens_one_on_tap(demo, browser, live_server):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/travaux/")
        days = page.locator("#uptime-mail .uptime-bars .uptime-day")
        visible = [days.nth(i).is_visible() for i in range(90)]
        assert visible == [False] * 60 + [True] * 30
        width = days.nth(89).bounding_box()["width"]
        assert width >= 8, f"a day is {width}px wide: too narrow to tap"
        day = _marked_day(page)
        day.tap()
        assert day.locator("xpath=..").locator(".uptime-details").is_visible()
        _section(page, "uptime-status-phone-tap")
        page.goto(f"{live_server}/travaux/services/mail")
        assert page.get_by_role("heading", name="Mois par mois").is_visible()
        _section(page, "uptime-service-phone")
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/travaux/", "/travaux/services/mail"])
def test_axe_finds_no_serious_violation(demo, page, live_server, path):
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        pytest.skip("axe-playwright-python is not installed (pip install -e '.[test]'): "
                    "it brings axe-core for the accessibility checks")
    page.goto(f"{live_server}{path}")
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
    if path != "/travaux/":
        screenshot(page, "uptime-service-desktop")
