"""A visitor subscribes to two services from /travaux/subscribe in a real browser, confirms
with the button of the mailed link, and changes services on the manage page."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from board.extensions import db
from board.outbox.models import OutboxMessage
from board.travaux.subscription_models import TravauxSubscription
from tests.browser.conftest import screenshot
from tests.travaux.factories import make_service


def subscription(email: str) -> TravauxSubscription | None:
    db.session.rollback()  # see what the server's requests committed
    return db.session.scalar(select(TravauxSubscription).where(
        TravauxSubscription.email == email))


def mailed_link(email: str, pattern: str) -> str:
    db.session.rollback()
    for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail")):
        if row.payload["to"] == email and (found := re.search(pattern, row.payload["text"])):
            return found.group(0)
    raise AssertionError(f"no mail to {email} with {pattern}")


def test_a_visitor_subscribes_to_two_services_confirms_and_manages(live_server, page):
    make_service("web", "Hébergement web", 1)
    make_service("mail", "Messagerie", 2)
    make_service("dns", "DNS", 3)

    page.goto(live_server + "/travaux/")
    page.get_by_role("link", name=re.compile("Recevoir Travaux par courriel")).click()
    page.get_by_label("Adresse e-mail").fill("lou@example.org")
    page.get_by_label("Seulement les opérations sur les services que je choisis").check()
    page.get_by_role("checkbox", name="Messagerie").check()
    page.get_by_role("checkbox", name="DNS").check()
    screenshot(page, "travaux-subscribe-01-two-services")
    page.locator("main").get_by_role("button", name="S'inscrire").click()
    expect(page.locator("main")).to_contain_text("lou@example.org")
    assert subscription("lou@example.org").status == "pending"

    link = mailed_link("lou@example.org", r"http://\S+/travaux/subscribe/confirm/\S+")
    page.goto(link)
    assert subscription("lou@example.org").status == "pending"  # opening it is not enough
    page.get_by_role("button", name="Confirmer mon inscription").click()
    page.wait_for_selector("text=Votre abonnement est confirmé.")
    screenshot(page, "travaux-subscribe-02-manage")
    row = subscription("lou@example.org")
    assert row.status == "active" and {s.slug for s in row.services} == {"mail", "dns"}

    # The manage page: ticked as saved; narrowed to one service without a new confirmation.
    assert page.get_by_role("checkbox", name="Messagerie").is_checked()
    assert not page.get_by_role("checkbox", name="Hébergement web").is_checked()
    page.get_by_role("checkbox", name="DNS").uncheck()
    page.get_by_role("button", name="Enregistrer mon choix").click()
    page.wait_for_selector("text=Votre choix est enregistré.")
    assert {s.slug for s in subscription("lou@example.org").services} == {"mail"}
    screenshot(page, "travaux-subscribe-03-narrowed")
