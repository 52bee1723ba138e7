"""Travaux mail subscriptions through HTTP, with the mail read on a real SMTP server on
loopback: subscribe to services, confirm with a button, manage by the mail's link, narrow,
one-click unsubscribe (RFC 8058); one incident's subscription ending with its closing mail;
the Travaux list's subscribers; one mail per address whatever the overlap; members."""

import html
import re
import secrets
from collections import Counter

import pytest
from sqlalchemy import select

from board.accounts.models import User
from board.extensions import db
from board.lists import services as lists
from board.lists.models import ListMessage, Subscription
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux import services as travaux
from board.travaux.subscription_models import TravauxSubscription
from board.urls import site_context
from tests.factories import PASSWORD, make_user
from tests.outbox.conftest import _smtp_server, clock, smtp_server  # noqa: F401 - fixtures
from tests.travaux.factories import make_service

CONFIRM_RE = re.compile(r"http://board\.test(/travaux/subscribe/confirm/[A-Za-z0-9_-]{20,})")
MANAGE_RE = re.compile(r"http://board\.test(/travaux/subscriptions/[A-Za-z0-9_-]{20,})(?=[\s\"<])")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def services(app):
    return {"web": make_service("web", "Hébergement web", 1),
            "mail": make_service("mail", "Messagerie", 2),
            "dns": make_service("dns", "DNS", 3)}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


def queued_to(address: str) -> list[dict]:
    db.session.expire_all()
    return [row.payload for row in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "mail").order_by(OutboxMessage.id))
        if row.payload["to"] == address]


def row(email: str, incident=None) -> TravauxSubscription:
    db.session.expire_all()
    return db.session.scalar(select(TravauxSubscription).where(
        TravauxSubscription.email == email,
        TravauxSubscription.incident_id == incident.id if incident is not None
        else TravauxSubscription.incident_id.is_(None)))


def press(client, path: str, **kwargs):
    """Open a page, then press its (only) form's button, as a person does."""
    page = client.get(path, **kwargs)
    assert page.status_code == 200, page.data[:300]
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token}, **kwargs)


def delivered(smtp_server) -> dict[str, list]:  # noqa: F811 - the fixture, passed in
    """Run the worker until the queue is empty; the messages received, by recipient."""
    deliver_due()
    received: dict[str, list] = {}
    for item in smtp_server.received:
        for address in item.rcpt_tos:
            received.setdefault(address, []).append(item.message)
    smtp_server.reset()
    return received


def body(message) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def join(client, smtp_server, email: str, *slugs, services=None, language="fr"):  # noqa: F811
    """Subscribe a new address to services (all of Travaux when none) through the form and
    follow the confirmation link from the mail the SMTP server received."""
    data = {"email": email, "scope": "services" if slugs else "all",
            "services": [services[s].id for s in slugs]}
    response = client.form("/travaux/subscribe", data, headers={"Accept-Language": language})
    assert response.status_code == 200, response.data[:2000]
    [mail] = delivered(smtp_server)[email]
    link = CONFIRM_RE.search(body(mail)[0]).group(1)
    confirmed = press(client, link)
    assert confirmed.status_code == 302
    assert row(email).status == "active"
    return mail


def open_incident(services, *slugs, kind="incident", notify=True, **fields):
    admin = make_user(role="admin")
    with site_context():
        return travaux.open_incident(
            admin, kind=kind, title=fields.pop("title", "Lenteurs"),
            impact=fields.pop("impact", "major"), services=[services[s] for s in slugs],
            message=fields.pop("message", "Nous regardons."), notify=notify, **fields)


def update(incident, status, notify=True, message="Du nouveau.", reopen=False):
    with site_context():
        return travaux.post_update(incident, incident.author, status, message, notify=notify,
                                   reopen=reopen)


# Subscribing, confirming, managing ------------------------------------------------------------

def test_a_guest_subscribes_to_two_services_confirms_with_a_button_and_manages(
        client, smtp_server, services):  # noqa: F811
    page = text(client.get("/travaux/subscribe"))
    assert "Hébergement web" in page and "Messagerie" in page and "DNS" in page
    response = client.form("/travaux/subscribe", {
        "email": "Ann@Example.org", "scope": "services",
        "services": [services["mail"].id, services["dns"].id]})
    assert response.status_code == 200
    assert "Consultez votre boîte" in text(response)
    assert row("ann@example.org").status == "pending"

    [mail] = delivered(smtp_server)["ann@example.org"]
    plain, _rich = body(mail)
    assert "Messagerie, DNS" in plain
    link = CONFIRM_RE.search(plain).group(1)
    # Opening the link (a mailbox's scanner does) confirms nothing: the button does.
    assert "Confirmer mon inscription" in text(client.get(link))
    assert row("ann@example.org").status == "pending"
    confirmed = press(client, link)
    assert confirmed.status_code == 302
    subscription = row("ann@example.org")
    assert subscription.status == "active"
    assert {s.slug for s in subscription.services} == {"mail", "dns"}
    manage = text(client.get(confirmed.headers["Location"]))
    assert "ann@example.org" in manage and "Se désinscrire" in manage

    # Single use.
    again = press(client, link)
    assert "pas valide" in text(client.get(again.headers["Location"]))


def test_a_confirmation_link_expires(client, smtp_server, services, clock):  # noqa: F811
    client.form("/travaux/subscribe", {"email": "bob@example.org", "scope": "all"})
    [mail] = delivered(smtp_server)["bob@example.org"]
    link = CONFIRM_RE.search(body(mail)[0]).group(1)
    clock.advance(days=4)
    response = press(client, link)
    assert "expiré" in text(client.get(response.headers["Location"]))
    assert row("bob@example.org").status == "pending"


@pytest.mark.parametrize("data, message", [
    ({"email": "pas-une-adresse", "scope": "all"}, "adresse e-mail valide"),
    ({"email": "cat@example.org", "scope": "services"}, "Choisissez au moins un service."),
    ({"email": "cat@example.org", "scope": "tout"}, "Not a valid choice"),
])
def test_bad_input_gets_a_message_and_stores_nothing(client, services, data, message):
    response = client.form("/travaux/subscribe", data)
    assert response.status_code == 422
    if message != "Not a valid choice":
        assert message in text(response)
    assert db.session.scalars(select(TravauxSubscription)).all() == []


def test_a_stranger_typing_an_address_changes_nothing_of_its_subscription(
        client, smtp_server, services):  # noqa: F811
    join(client, smtp_server, "dan@example.org", "mail", services=services)
    response = client.form("/travaux/subscribe", {"email": "dan@example.org", "scope": "all"})
    assert response.status_code == 200 and "Consultez votre boîte" in text(response)
    assert not row("dan@example.org").all_services
    assert delivered(smtp_server) == {}


def test_asking_again_while_a_link_is_on_its_way_changes_nothing(client, smtp_server,  # noqa: F811
                                                                  services):
    client.form("/travaux/subscribe", {"email": "pat@example.org", "scope": "services",
                                       "services": [services["dns"].id]})
    client.form("/travaux/subscribe", {"email": "pat@example.org", "scope": "all"})
    [mail] = delivered(smtp_server)["pat@example.org"]  # one link, not two
    press(client, CONFIRM_RE.search(body(mail)[0]).group(1))
    confirmed = row("pat@example.org")
    assert not confirmed.all_services and [s.slug for s in confirmed.services] == ["dns"]


def test_an_ended_subscription_cannot_be_changed_by_its_old_link(client, smtp_server,  # noqa: F811
                                                                 services):
    join(client, smtp_server, "quinn@example.org", "dns", services=services)
    token = row("quinn@example.org").token
    fresh = client.application.test_client()
    assert fresh.post(f"/travaux/subscriptions/{token}/unsubscribe",
                      data=ONE_CLICK).status_code == 204
    page = client.get(f"/travaux/subscriptions/{token}")
    assert "ne reçoit plus aucun courriel" in text(page)
    saved = client.post(f"/travaux/subscriptions/{token}", data={
        "csrf_token": client.csrf_token(), "scope": "all"})
    assert saved.status_code == 200 and "a pris fin" in text(saved)
    assert row("quinn@example.org").status == "unsubscribed"


def test_unknown_tokens_are_not_found(client):
    assert client.get("/travaux/subscriptions/nope").status_code == 404
    assert client.post("/travaux/subscriptions/nope/unsubscribe", data=ONE_CLICK).status_code \
        == 404


def test_the_subscribe_post_is_rate_limited(client, services):
    for n in range(10):
        assert client.form("/travaux/subscribe", {"email": f"r{n}@example.org",
                                                  "scope": "all"}).status_code == 200
    assert client.form("/travaux/subscribe", {"email": "r@example.org",
                                              "scope": "all"}).status_code == 429


def test_the_status_page_links_to_the_subscription_page(client):
    assert 'href="/travaux/subscribe"' in client.get("/travaux/").get_data(as_text=True)


# What reaches whom ----------------------------------------------------------------------------

def test_a_messagerie_subscriber_gets_the_messagerie_incident_and_not_the_web_one(
        client, smtp_server, services):  # noqa: F811
    join(client, smtp_server, "eve@example.org", "mail", services=services)
    open_incident(services, "web", title="Sites lents")
    assert "eve@example.org" not in delivered(smtp_server)

    incident = open_incident(services, "mail", title="Courriels en retard", impact="critical",
                             message="Les courriels n'arrivent plus.")
    [mail] = delivered(smtp_server)["eve@example.org"]
    assert "Courriels en retard" in mail["Subject"] and "Nouvel incident" in mail["Subject"]
    plain, rich = body(mail)
    page = f"http://board.test/travaux/incidents/{incident.id}"
    thread = incident.source_thread
    for part in (plain, rich):
        assert "Messagerie" in part and "critique, les services sont indisponibles" in part
        assert "Les courriels n'arrivent plus." in part
        assert page in part and f"/threads/{thread.id}" in part
    token = row("eve@example.org").token
    assert f"http://board.test/travaux/subscriptions/{token}" in plain
    unsubscribe = f"http://board.test/travaux/subscriptions/{token}/unsubscribe"
    assert mail["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # An update without "notify" mails nobody; the resolution with it does.
    update(incident, "identified", notify=False)
    assert delivered(smtp_server) == {}
    update(incident, "resolved", message="C'est réparé.")
    [mail] = delivered(smtp_server)["eve@example.org"]
    assert "Incident résolu" in mail["Subject"] and "C'est réparé." in body(mail)[0]


def test_an_incident_naming_no_service_reaches_all_of_travaux_only(
        client, smtp_server, services):  # noqa: F811
    join(client, smtp_server, "all@example.org", services=services)
    join(client, smtp_server, "some@example.org", "dns", services=services)
    open_incident(services)
    assert set(delivered(smtp_server)) == {"all@example.org"}


def test_narrowing_from_the_manage_page_needs_no_confirmation(client, smtp_server, services):  # noqa: F811
    join(client, smtp_server, "fay@example.org", services=services)
    open_incident(services, "web")
    [mail] = delivered(smtp_server)["fay@example.org"]
    manage = MANAGE_RE.search(body(mail)[0]).group(1)
    page = client.get(manage)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    saved = client.post(manage, data={"csrf_token": token, "scope": "services",
                                      "services": [services["mail"].id]})
    assert saved.status_code == 302
    assert {s.slug for s in row("fay@example.org").services} == {"mail"}
    open_incident(services, "web")
    assert delivered(smtp_server) == {}
    open_incident(services, "mail", "web")
    assert list(delivered(smtp_server)) == ["fay@example.org"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data"])
def test_one_click_unsubscribe_from_a_mail_provider(client, smtp_server, services,  # noqa: F811
                                                    content_type):
    join(client, smtp_server, "gil@example.org", "web", services=services)
    open_incident(services, "web")
    [mail] = delivered(smtp_server)["gil@example.org"]
    target = mail["List-Unsubscribe"].strip("<>").removeprefix("http://board.test")
    # What a provider sends: no cookie, no CSRF token.
    fresh = client.application.test_client()
    response = fresh.post(target, data=ONE_CLICK, content_type=content_type)
    assert response.status_code == 204
    assert row("gil@example.org").status == "unsubscribed"
    open_incident(services, "web")
    assert delivered(smtp_server) == {}


def test_the_travaux_list_subscribers_get_everything_and_can_narrow_down(
        client, smtp_server, services):  # noqa: F811
    token = secrets.token_urlsafe(32)
    db.session.add(Subscription(list=lists.get_list("travaux"), email="hal@example.org",
                                status="active", token=token))
    db.session.commit()
    open_incident(services, "web", title="Sites lents")
    [mail] = delivered(smtp_server)["hal@example.org"]
    assert mail["List-Unsubscribe"] == f"<http://board.test/lists/unsubscribe/{token}>"
    assert mail["List-Id"].startswith("Travaux <travaux.")
    manage = MANAGE_RE.search(body(mail)[0]).group(1)
    assert manage == f"/travaux/subscriptions/{token}"
    # The archive keeps the notice, as it always did; nobody got it twice.
    [notice] = db.session.scalars(select(ListMessage)).all()
    assert (notice.status, notice.recipients) == ("sent", 1) and "Sites lents" in notice.subject

    page = client.get(manage)
    assert "liste Travaux" in text(page)
    saved = client.post(manage, data={
        "csrf_token": CSRF_RE.search(page.get_data(as_text=True)).group(1),
        "scope": "services", "services": [services["mail"].id]})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Subscription.status).where(
        Subscription.email == "hal@example.org")) == "unsubscribed"
    narrowed = row("hal@example.org")
    assert narrowed.status == "active" and [s.slug for s in narrowed.services] == ["mail"]
    assert saved.headers["Location"].endswith(f"/travaux/subscriptions/{narrowed.token}")
    open_incident(services, "web")
    assert delivered(smtp_server) == {}
    open_incident(services, "mail")
    assert list(delivered(smtp_server)) == ["hal@example.org"]


def test_one_mail_per_address_whatever_the_overlap(client, smtp_server, services):  # noqa: F811
    db.session.add(Subscription(list=lists.get_list("travaux"), email="Ivy@Example.org",
                                status="active", token=secrets.token_urlsafe(32)))
    db.session.commit()
    join(client, smtp_server, "ivy@example.org", "mail", services=services)
    incident = open_incident(services, "mail", notify=False)
    client.form("/travaux/subscribe", {"email": "ivy@example.org", "incident": incident.id})
    [mail] = delivered(smtp_server)["ivy@example.org"]
    press(client, CONFIRM_RE.search(body(mail)[0]).group(1))
    assert row("ivy@example.org", incident).status == "active"
    join(client, smtp_server, "other@example.org", "mail", services=services)

    update(incident, "identified")
    received = delivered(smtp_server)
    assert Counter({k: len(v) for k, v in received.items()}) == Counter(
        {"Ivy@Example.org": 1, "other@example.org": 1})


# One incident ---------------------------------------------------------------------------------

def test_a_guest_follows_one_incident_until_its_closing_mail(client, smtp_server, services):  # noqa: F811
    incident = open_incident(services, "dns", notify=False)
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    # A link to the page asking the address: no address ever goes in a URL.
    assert f'href="/travaux/subscribe?incident={incident.id}"' in page
    form = client.get(f"/travaux/subscribe?incident={incident.id}").get_data(as_text=True)
    assert 'name="email"' in form and f'value="{incident.id}"' in form
    response = client.form("/travaux/subscribe", {"email": "jo@example.org",
                                                  "incident": incident.id})
    assert response.status_code == 200
    [mail] = delivered(smtp_server)["jo@example.org"]
    assert incident.title in body(mail)[0]
    press(client, CONFIRM_RE.search(body(mail)[0]).group(1))

    update(incident, "identified")
    assert len(delivered(smtp_server)["jo@example.org"]) == 1
    # Resolved without "notify": its subscribers still get the closing mail, and nobody else.
    join(client, smtp_server, "dns@example.org", "dns", services=services)
    update(incident, "resolved", notify=False, message="Réparé.")
    received = delivered(smtp_server)
    assert list(received) == ["jo@example.org"]
    assert "Réparé." in body(received["jo@example.org"][0])[0]
    assert row("jo@example.org", incident).status == "ended"
    update(incident, "investigating", reopen=True)
    assert "jo@example.org" not in delivered(smtp_server)


def test_a_closed_incident_cannot_be_followed(client, services):
    incident = open_incident(services, "dns", notify=False)
    update(incident, "resolved", notify=False)
    assert "travaux/subscribe" not in client.get(
        f"/travaux/incidents/{incident.id}").get_data(as_text=True).split("<main")[1].split(
        "threads-title")[0]
    response = client.form("/travaux/subscribe", {"email": "kim@example.org",
                                                  "incident": incident.id})
    assert response.status_code == 302
    assert row("kim@example.org", incident) is None


def test_a_member_follows_an_incident_in_one_click_and_reads_it_in_english(
        client, smtp_server, services, login_as):  # noqa: F811
    incident = open_incident(services, "web", notify=False)
    member = login_as("member", locale="en")
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    action = f'action="/travaux/incidents/{incident.id}/subscribe"'
    assert action in page
    response = client.form(f"/travaux/incidents/{incident.id}/subscribe")
    assert response.status_code == 302
    assert row(member.email, incident).status == "active"
    assert delivered(smtp_server) == {}  # no confirmation: the address is confirmed
    update(incident, "identified", message="Found it.")
    [mail] = delivered(smtp_server)[member.email]
    assert "Incident update" in mail["Subject"]
    assert "You receive this mail because you subscribed to this operation" in body(mail)[0]


def test_a_member_s_subscription_follows_their_new_address(client, smtp_server, services,  # noqa: F811
                                                          login_as):
    member = login_as("member")
    old = member.email
    response = client.form("/travaux/subscribe", {"email": old, "scope": "services",
                                                  "services": [services["mail"].id]})
    assert response.status_code == 302  # their confirmed address: active at once
    assert row(old).status == "active"
    client.form("/account/email", {"email": "new@example.org", "password": PASSWORD})
    [change] = queued_to("new@example.org")
    link = re.search(r"http://board\.test(/account/email/[^\s\"<]+)", change["text"]).group(1)
    assert press(client, link).status_code == 302
    delivered(smtp_server)
    assert row("new@example.org") is not None and row(old) is None
    open_incident(services, "mail")
    assert list(delivered(smtp_server)) == ["new@example.org"]


# Maintenance ----------------------------------------------------------------------------------

def test_a_rescheduled_maintenance_says_the_old_and_the_new_window_and_a_cancelled_one_ends(
        client, smtp_server, services):  # noqa: F811
    from datetime import UTC, datetime

    join(client, smtp_server, "max@example.org", "web", services=services)
    start = datetime(2027, 3, 2, 21, 0, tzinfo=UTC)  # 22:00 in Paris
    maintenance = open_incident(services, "web", kind="maintenance", title="Noyau",
                                window=(start, start.replace(hour=23)))
    [mail] = delivered(smtp_server)["max@example.org"]
    assert "Maintenance annoncée" in mail["Subject"]
    assert "du mardi 2 mars 2027 à 22:00 au mercredi 3 mars 2027 à 00:00 (heure de Paris)" \
        in body(mail)[0]

    with site_context():
        travaux.reschedule(maintenance, maintenance.author, start.replace(day=9),
                           start.replace(day=9, hour=23), "Un fournisseur.")
    [mail] = delivered(smtp_server)["max@example.org"]
    assert "Maintenance reprogrammée" in mail["Subject"]
    plain, rich = body(mail)
    for part in (plain, rich):
        assert "Prévue auparavant" in part and "mardi 2 mars 2027 à 22:00" in part
        assert "mardi 9 mars 2027 à 22:00" in part

    update(maintenance, "cancelled", message="Annulée.")
    [mail] = delivered(smtp_server)["max@example.org"]
    assert "Maintenance annulée" in mail["Subject"] and "Annulée." in body(mail)[0]


# The demo -------------------------------------------------------------------------------------

def test_the_demo_answers_issue_13(client, runner, smtp_server, clock):  # noqa: F811
    """From the demo: a guest subscribes to Messagerie alone, confirms, gets the mail of a
    Messagerie incident and not of a Hébergement web one; a maintenance's reminder mail goes
    out an hour before (the demo has one 70 minutes ahead)."""
    from board.travaux.models import Service

    assert runner.invoke(args=["demo"]).exit_code == 0
    deliver_due()
    smtp_server.reset()
    by_slug = {s.slug: s for s in db.session.scalars(select(Service))}
    join(client, smtp_server, "guest@example.org", "mail", services=by_slug)
    admin = db.session.scalar(select(User).where(User.role == "admin"))
    with site_context():
        for slug in ("hebergement-web", "mail"):
            travaux.open_incident(admin, kind="incident", title=f"Panne {slug}", impact="major",
                                  services=[by_slug[slug]], message="On regarde.", notify=True)
    [mail] = delivered(smtp_server)["guest@example.org"]
    assert "Panne mail" in mail["Subject"]

    clock.advance(minutes=11)  # 59 minutes before the demo's short maintenance
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    reminders = [m["Subject"] for m in smtp_server.messages if "Rappel" in m["Subject"]]
    assert "Redémarrage du relais SMTP" in reminders[0]
    assert Counter(smtp_server.recipients())["guest@example.org"] == 1
