"""A guest reads without a session: no cookie until they choose a language, which is a link,
and the pages they read come from the guest cache (board/pagecache.py)."""

from tests.browser.conftest import screenshot
from tests.factories import make_thread


def test_a_guest_reads_cookie_free_and_switches_language_with_a_link(page, live_server):
    thread = make_thread(title="Panne de messagerie ce matin", body="Plus aucun courriel reçu.")
    url = f"{live_server}/threads/{thread.id}/{thread.slug}"
    first = page.goto(url)
    assert first.headers["x-cache"] == "miss"
    assert page.context.cookies() == [], "a guest's first page set a cookie"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.reload().headers["x-cache"] == "hit"

    page.get_by_role("link", name="English").click()
    page.wait_for_url(url)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Reply").is_visible()
    assert [c["name"] for c in page.context.cookies()] == ["locale"]
    screenshot(page, "guest-thread-in-english")
    page.get_by_role("link", name="Français").click()
    page.wait_for_url(url)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("link", name="Français").get_attribute("aria-current") == "true"
