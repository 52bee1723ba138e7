"""A visitor subscribes to one mailing list from /lists/ in a real browser.

The list checkboxes once all carried `required` (from the field's DataRequired): Chromium then
refused to send the form unless every list was ticked, with its own message in English."""

from sqlalchemy import select

from board.extensions import db
from board.lists.models import MailingList, Subscription
from tests.browser.conftest import screenshot


def subscriptions(email: str) -> dict[str, str]:
    db.session.rollback()  # see what the server's requests committed
    rows = db.session.execute(select(MailingList.slug, Subscription.status).join(
        Subscription.list).where(Subscription.email == email)).all()
    return dict(rows)


def test_a_visitor_subscribes_to_travaux_alone(live_server, page):
    page.goto(live_server + "/lists/")
    page.get_by_label("Adresse e-mail").fill("yann@example.org")
    page.get_by_role("checkbox", name="Travaux").check()
    screenshot(page, "lists-01-travaux-only")
    page.get_by_role("button", name="S'inscrire").last.click()

    assert "yann@example.org" in page.locator("main").inner_text()
    screenshot(page, "lists-02-check-your-mail")
    assert subscriptions("yann@example.org") == {"travaux": "pending"}


def test_no_list_ticked_gets_the_server_s_message_in_french(live_server, page):
    page.goto(live_server + "/lists/")
    page.get_by_label("Adresse e-mail").fill("yann@example.org")
    page.get_by_role("button", name="S'inscrire").last.click()

    page.wait_for_selector(".form-errors")
    assert "Veuillez corriger les champs signalés." in page.locator(".form-errors").inner_text()
    assert "Choisissez au moins une liste." in page.locator("#lists-error").inner_text()
    screenshot(page, "lists-03-no-list-ticked")
    assert subscriptions("yann@example.org") == {}
