"""Moderated list messages, end to end: composed (or a Travaux notice), held, approved or
rejected by an admin, fanned out by the outbox worker into one mail per active subscriber,
received by a real SMTP server on loopback, and archived (page and RSS)."""

import secrets
from collections import Counter
from email import message_from_bytes
from email.policy import default
from time import perf_counter

import feedparser
import pytest
from flask import url_for
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, insert, select

from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.lists import services as lists
from board.lists.models import AllowedSender, ListMessage, Subscription
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux import services as travaux
from board.travaux.models import Incident
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_user
from tests.outbox import conftest as outbox_fixtures

BASE = "http://board.test"
# The outbox tests' fixtures: a real SMTP server on loopback, and a clock to move forward.
_smtp_server = outbox_fixtures._smtp_server
smtp_server = outbox_fixtures.smtp_server
clock = outbox_fixtures.clock

# Runs by default; `-m "not slow"` leaves it out (the marker is declared in pyproject.toml).
slow = pytest.mark.slow


# Helpers ------------------------------------------------------------------------------------

def subscribe(slug: str, email: str, status: str = "active", locale: str | None = None):
    subscription = Subscription(list=lists.get_list(slug), email=email, status=status,
                                locale=locale, token=secrets.token_urlsafe(32))
    db.session.add(subscription)
    db.session.commit()
    return subscription


def subscribers(slug: str = "informations") -> dict[str, Subscription]:
    """Three active subscribers (one reading English), one pending, one gone."""
    return {
        "ann": subscribe(slug, "ann@example.org"),
        "bob": subscribe(slug, "bob@example.org"),
        "eve": subscribe(slug, "eve@example.org", locale="en"),
        "pending": subscribe(slug, "pending@example.org", status="pending"),
        "gone": subscribe(slug, "gone@example.org", status="unsubscribed"),
    }


def messages() -> list[ListMessage]:
    db.session.expire_all()
    return db.session.scalars(select(ListMessage).order_by(ListMessage.id)).all()


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return db.session.scalars(stmt).all()


def second_admin(app):
    """Another admin, logged in on a client of their own."""
    admin = make_user(role="admin")
    other = app.test_client()
    assert other.login(admin.email).status_code == 302
    return admin, other


def compose(client, subject="Nouvelle offre mutualisée", body="Bonjour **à tous**.\n\nÀ bientôt."):
    response = client.form("/lists/informations/compose", {"subject": subject, "body": body})
    assert response.status_code == 302, response.data[:1000]
    assert response.headers["Location"].endswith("/lists/held")
    return messages()[-1]


def flashed(client, text: str) -> bool:
    """Whether the next page shows `text`, as the site's default language says it."""
    with force_locale("fr"):
        wanted = str(escape(gettext(text)))
    return wanted in client.get("/lists/held").get_data(as_text=True)


def received_by(smtp_server) -> Counter:
    return Counter(smtp_server.recipients())


def by_recipient(smtp_server, subject_part: str) -> dict:
    return {m["To"].addresses[0].addr_spec: m for m in smtp_server.messages
            if subject_part in m["Subject"]}


# Composing and holding ----------------------------------------------------------------------

def test_a_composed_message_is_held_and_nothing_is_sent(app, client, login_as,
                                                        smtp_server):
    subscribers()
    admin = login_as("admin")
    assert client.get("/lists/informations/compose").status_code == 200

    message = compose(client)
    assert (message.status, message.origin) == ("held", "compose")
    assert message.list.slug == "informations"
    assert (message.author_id, message.author_email) == (admin.id, admin.email)
    assert "<strong>à tous</strong>" in message.body_html
    assert outbox() == []  # nothing for the subscribers, nothing for anybody

    page = client.get("/lists/held").get_data(as_text=True)
    assert "Nouvelle offre mutualisée" in page
    for action in ("approve", "reject"):
        assert f"/lists/held/{message.id}/{action}" in page

    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp_server.received == []


def test_compose_checks_its_fields(client, login_as):
    login_as("admin")
    response = client.form("/lists/informations/compose", {"subject": "x", "body": ""})
    assert response.status_code == 422
    assert messages() == []
    assert client.form("/lists/nosuch/compose", {"subject": "Sujet", "body": "Texte"}
                       ).status_code == 404


# Approving ----------------------------------------------------------------------------------

def test_approval_by_another_admin_fans_out_to_active_subscribers_and_tells_the_author(
        app, client, login_as, smtp_server):
    subs = subscribers()
    subscribe("travaux", "travaux-only@example.org")
    author = login_as("admin")
    message = compose(client)
    approver, other = second_admin(app)

    assert other.form(f"/lists/held/{message.id}/approve").status_code == 302
    message = messages()[-1]
    assert (message.status, message.decided_by_id) == ("approved", approver.id)
    assert message.decided_at is not None
    [fanout] = outbox("list_fanout")
    assert fanout.payload == {"message_id": message.id}
    [told] = outbox("mail")
    assert told.payload["to"] == author.email
    assert smtp_server.received == []  # nothing leaves before the worker runs

    assert deliver_due() == {"sent": 5, "retry": 0, "failed": 0}  # fan-out, 3 copies, author

    active = {s.email for s in (subs["ann"], subs["bob"], subs["eve"])}
    assert received_by(smtp_server) == Counter(active | {author.email})
    message = messages()[-1]
    assert (message.status, message.recipients) == ("sent", 3)
    assert message.sent_at is not None

    copies = by_recipient(smtp_server, "[Informations]")
    assert set(copies) == active
    ids = set()
    for email, mail in copies.items():
        subscription = next(s for s in subs.values() if s.email == email)
        assert mail["Subject"] == "[Informations] Nouvelle offre mutualisée"
        assert mail.get_content_type() == "multipart/alternative"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Bonjour **à tous**." in text
        assert "<strong>à tous</strong>" in html
        # Each copy carries its own recipient's unsubscribe link, in the body and the headers.
        unsubscribe = f"{BASE}/lists/unsubscribe/{subscription.token}"
        assert unsubscribe in text and unsubscribe in html
        assert mail["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["List-Id"] == f"Informations <informations.{lists._domain()}>"
        assert mail["List-Archive"] == f"<{BASE}/lists/informations/>"
        ids.add(mail["Message-ID"])
        for other_sub in subs.values():
            if other_sub.email != email:
                assert other_sub.token not in mail.as_string()
    assert len(ids) == 3
    # In each subscriber's language.
    with force_locale("en"):
        english = gettext("Unsubscribe in one click:")
    with force_locale("fr"):
        french = gettext("Unsubscribe in one click:")
    assert english != french
    assert english in copies["eve@example.org"].get_body(("plain",)).get_content()
    assert french in copies["ann@example.org"].get_body(("plain",)).get_content()

    # The author hears that it was approved, with the archive's address.
    [decision] = [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec
                  == author.email]
    text = decision.get_body(("plain",)).get_content()
    assert "Nouvelle offre mutualisée" in text and f"{BASE}/lists/informations/" in text

    # One click from the mail unsubscribes that copy's recipient, and nobody else.
    response = client.post(f"/lists/unsubscribe/{subs['bob'].token}",
                           data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(Subscription, subs["bob"].id).status == "unsubscribed"
    assert db.session.get(Subscription, subs["ann"].id).status == "active"


def test_an_admin_approving_their_own_message_is_not_told(client, login_as,
                                                           smtp_server):
    subscribe("informations", "ann@example.org")
    login_as("admin")
    message = compose(client)
    assert client.form(f"/lists/held/{message.id}/approve").status_code == 302
    assert outbox("mail") == []
    assert len(outbox("list_fanout")) == 1
    assert flashed(client, "Approved: the message is on its way to the subscribers.")

    assert deliver_due() == {"sent": 2, "retry": 0, "failed": 0}
    assert received_by(smtp_server) == Counter(["ann@example.org"])


def test_a_list_without_active_subscribers_sends_nothing(client, login_as,
                                                         smtp_server):
    subscribe("informations", "pending@example.org", status="pending")
    login_as("admin")
    message = compose(client)
    client.form(f"/lists/held/{message.id}/approve")
    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert smtp_server.received == []
    assert (messages()[-1].status, messages()[-1].recipients) == ("sent", 0)


# Rejecting ----------------------------------------------------------------------------------

def test_rejection_sends_nothing_to_the_list_and_tells_the_author_why(
        app, client, login_as, smtp_server):
    subscribers()
    author = login_as("admin")
    message = compose(client)
    approver, other = second_admin(app)

    # A reason is required.
    assert other.form(f"/lists/held/{message.id}/reject", {"reason": "  "}).status_code == 302
    assert messages()[-1].status == "held"
    assert outbox() == []

    reason = "Trop long : merci de le raccourcir avant l'envoi."
    assert other.form(f"/lists/held/{message.id}/reject", {"reason": reason}).status_code == 302
    message = messages()[-1]
    assert (message.status, message.reason, message.decided_by_id) == (
        "rejected", reason, approver.id)
    assert outbox("list_fanout") == []

    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert received_by(smtp_server) == Counter([author.email])
    [decision] = smtp_server.messages
    assert reason in decision.get_body(("plain",)).get_content()
    assert str(escape(reason)) in decision.get_body(("html",)).get_content()
    assert "Nouvelle offre mutualisée" in decision.get_body(("plain",)).get_content()
    # Not in the archive.
    assert "Nouvelle offre" not in client.get("/lists/informations/").get_data(as_text=True)


# Deciding only once -------------------------------------------------------------------------

def test_a_message_is_decided_on_once(app, client, login_as, smtp_server):
    subscribe("informations", "ann@example.org")
    login_as("admin")
    first, second = compose(client, subject="Premier message"), compose(
        client, subject="Second message")
    _, other = second_admin(app)

    # Approving twice (two admins at once, or a double click): one fan-out only.
    assert client.form(f"/lists/held/{first.id}/approve").status_code == 302
    assert other.form(f"/lists/held/{first.id}/approve").status_code == 302
    assert flashed(other, "This message has already been decided on.")
    assert len(outbox("list_fanout")) == 1

    # Rejecting an approved message changes nothing.
    other.form(f"/lists/held/{first.id}/reject", {"reason": "Trop tard"})
    assert flashed(other, "This message has already been decided on.")
    assert (messages()[0].status, messages()[0].reason) == ("approved", "")

    # Nor once it was sent.
    deliver_due()
    assert messages()[0].status == "sent"
    other.form(f"/lists/held/{first.id}/approve")
    other.form(f"/lists/held/{first.id}/reject", {"reason": "Trop tard"})
    assert messages()[0].status == "sent" and len(outbox("list_fanout")) == 1

    # A rejected message cannot be approved afterwards.
    client.form(f"/lists/held/{second.id}/reject", {"reason": "Non"})
    other.form(f"/lists/held/{second.id}/approve")
    assert messages()[1].status == "rejected"
    assert len(outbox("list_fanout")) == 1
    deliver_due()
    assert received_by(smtp_server) == Counter(["ann@example.org"])  # one copy, of the first

    with pytest.raises(lists.ListError):
        lists.approve(messages()[1], make_user(role="admin"))
    with pytest.raises(lists.ListError):
        lists.reject(messages()[0], make_user(role="admin"), "Non")
    assert client.form("/lists/held/999999/approve").status_code == 404


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_two_admins_deciding_at_the_same_moment_make_one_decision(app, second):
    """Two requests load the held message, then both decide: one of them must be refused
    (each request has its own app context, hence its own database session)."""
    author, first, late_one = (make_user(role="admin") for _ in range(3))
    subscribe("informations", "ann@example.org")
    message_id = lists.compose(lists.get_list("informations"), author, "Course", "Texte").id

    outcomes = []
    # A new app context is a new database session; site_context() adds a request on it.
    with app.app_context(), site_context():  # the second admin's page shows a held message
        late = db.session.get(ListMessage, message_id)
        late_admin = db.session.get(User, late_one.id)
        assert late.status == "held"
        with app.app_context(), site_context():  # meanwhile, the first admin approves it
            lists.approve(db.session.get(ListMessage, message_id),
                          db.session.get(User, first.id))
        try:
            if second == "approve":
                lists.approve(late, late_admin)
            else:
                lists.reject(late, late_admin, "Non")
        except lists.ListError:
            outcomes.append("refused")
        else:
            outcomes.append("accepted")
        db.session.rollback()

    [message] = messages()
    decisions = [m.payload["to"] for m in outbox("mail")]
    got = {"second decision": outcomes, "status": message.status,
           "fan-out jobs": len(outbox("list_fanout")), "author told": len(decisions)}
    assert got == {"second decision": ["refused"], "status": "approved", "fan-out jobs": 1,
                   "author told": 1}, got


# Who may ------------------------------------------------------------------------------------

def staff_requests(message_id: int):
    return [
        ("get", "/lists/informations/compose", None),
        ("post", "/lists/informations/compose", {"subject": "Sujet", "body": "Texte"}),
        ("get", "/lists/held", None),
        ("post", f"/lists/held/{message_id}/approve", {}),
        ("post", f"/lists/held/{message_id}/reject", {"reason": "Non"}),
        ("get", "/lists/informations/settings", None),
        ("post", "/lists/informations/settings",
         {"description": "Piratée", "senders": "pirate@example.net"}),
    ]


def send(client, method: str, url: str, data):
    return client.get(url) if method == "get" else client.form(url, data)


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_members_and_moderators_get_403(client, login_as, role):
    admin = make_user(role="admin")
    message = lists.compose(lists.get_list("informations"), admin, "Retenu", "Texte")
    login_as(role)
    for method, url, data in staff_requests(message.id):
        assert send(client, method, url, data).status_code == 403, (method, url)
    assert [(m.status, m.subject) for m in messages()] == [("held", "Retenu")]
    assert outbox() == []
    mailing_list = lists.get_list("informations")
    db.session.refresh(mailing_list)
    assert mailing_list.senders == [] and mailing_list.description != "Piratée"


def test_guests_are_sent_to_the_login_page(client):
    admin = make_user(role="admin")
    message = lists.compose(lists.get_list("informations"), admin, "Retenu", "Texte")
    for method, url, data in staff_requests(message.id):
        response = send(client, method, url, data)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login?next="), (method, url)
    assert messages()[0].status == "held"


# Settings -----------------------------------------------------------------------------------

def test_an_admin_sets_the_allowed_senders_and_the_description(client, login_as):
    login_as("admin")
    page = client.get("/lists/informations/settings")
    assert page.status_code == 200
    assert f"informations@{lists._domain()}" in page.get_data(as_text=True)

    response = client.form("/lists/informations/settings", {
        "description": "  Les nouvelles de l'association.  ",
        "senders": "Annonces@Example.org\r\n\r\n  Bureau <bureau@example.org>  \r\n"
                   "annonces@example.org\r\n"})
    assert response.status_code == 302
    mailing_list = lists.get_list("informations")
    db.session.refresh(mailing_list)
    assert mailing_list.description == "Les nouvelles de l'association."
    assert [s.email for s in mailing_list.senders] == ["annonces@example.org",
                                                       "bureau@example.org"]
    assert lists.is_allowed_sender(mailing_list, "ANNONCES@example.org")
    assert not lists.is_allowed_sender(lists.get_list("travaux"), "annonces@example.org")
    text = client.get("/lists/informations/settings").get_data(as_text=True)
    assert "annonces@example.org\nbureau@example.org" in text

    # One per line: a line removed is a sender removed.
    client.form("/lists/informations/settings", {"description": "Courte.",
                                                 "senders": "bureau@example.org"})
    assert db.session.scalars(select(AllowedSender.email)).all() == ["bureau@example.org"]
    assert client.form("/lists/nosuch/settings", {"senders": ""}).status_code == 404


@pytest.mark.parametrize("line", ["pas une adresse", "bureau@", "@example.org",
                                  "jean dupont@example.org",
                                  "un@example.org, deux@example.org"])
def test_a_bad_address_line_is_a_form_error(client, login_as, line):
    login_as("admin")
    client.form("/lists/informations/settings", {"description": "Avant",
                                                 "senders": "bureau@example.org"})
    response = client.form("/lists/informations/settings", {
        "description": "Après", "senders": f"annonces@example.org\n{line}\n"})
    stored = db.session.scalars(select(AllowedSender.email).order_by(AllowedSender.email)).all()
    assert response.status_code == 422, (line, stored)
    with force_locale("fr"):
        error = gettext("Not an email address: %(address)s", address="")
    assert str(escape(error)) in response.get_data(as_text=True)
    assert stored == ["bureau@example.org"]
    assert lists.get_list("informations").description == "Avant"


# Travaux notices ----------------------------------------------------------------------------

def incident_links(incident) -> tuple[str, str]:
    with site_context():
        thread = incident.source_thread
        return (f"{BASE}{url_for('travaux.incident', incident_id=incident.id)}",
                f"{BASE}{url_for('forum.thread', thread_id=thread.id, slug=thread.slug)}")


def test_an_incident_opened_with_notify_reaches_the_travaux_list(client,
                                                                smtp_server):
    subs = subscribers("travaux")
    subscribe("informations", "informations-only@example.org")
    admin = make_user(role="admin")
    with site_context():
        incident = travaux.open_incident(admin, kind="incident", title="Panne du serveur mail",
                                         impact="major", services=[],
                                         message="Les courriels sont retardés.", notify=True)

    [notice] = messages()
    assert notice.list.slug == "travaux"
    assert (notice.status, notice.origin, notice.author_id) == ("approved", "travaux", admin.id)
    assert "Panne du serveur mail" in notice.subject
    # Travaux fans its notices out itself (one mail per address whatever the overlap of the
    # list and its own subscriptions): one job, and none of the list's.
    assert len(outbox("travaux_notice")) == 1 and outbox("list_fanout") == []

    deliver_due()
    active = {subs[k].email for k in ("ann", "bob", "eve")}
    assert received_by(smtp_server) == Counter(active)
    incident_url, thread_url = incident_links(incident)
    for mail in smtp_server.messages:
        assert mail["Subject"].startswith("[Travaux] ")
        assert "Panne du serveur mail" in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Les courriels sont retardés." in text
        assert incident_url in text and thread_url in text
        assert incident_url in html and thread_url in html
    assert messages()[0].status == "sent"
    assert "Panne du serveur mail" in feedparser.parse(
        client.get("/lists/travaux/feed.rss").data).entries[0].title

    # A later update with notify goes out too; one without does not.
    smtp_server.reset()
    with site_context():
        travaux.post_update(incident, admin, "identified", "Cause trouvée.")
        travaux.post_update(incident, admin, "resolved", "C'est réparé.", notify=True)
    assert len(messages()) == 2
    deliver_due()
    assert received_by(smtp_server) == Counter(active)
    assert all("C'est réparé." in m.get_body(("plain",)).get_content()
               for m in smtp_server.messages)


def test_an_incident_opened_without_notify_sends_nothing(smtp_server):
    subscribers("travaux")
    with site_context():
        travaux.open_incident(make_user(role="admin"), kind="incident", title="Lenteurs",
                              impact="minor", services=[], message="On regarde.")
    assert messages() == []
    assert outbox("list_fanout") == []
    deliver_due()
    assert smtp_server.received == []


@pytest.mark.parametrize("notify", [True, False])
def test_the_incident_form_notifies_only_when_ticked(client, login_as, smtp_server,
                                                     notify):
    subs = subscribers("travaux")
    login_as("admin")
    data = {"kind": "incident", "title": "Coupure réseau", "impact": "major", "status": "",
            "message": "Le réseau est coupé."}
    if notify:
        data["notify"] = "y"
    response = client.form("/travaux/incidents/new", data)
    assert response.status_code == 302, response.data[:2000]
    deliver_due()
    if not notify:
        assert messages() == [] and smtp_server.received == []
        return
    [notice] = messages()
    assert (notice.status, notice.origin) == ("sent", "travaux")
    assert received_by(smtp_server) == Counter(subs[k].email for k in ("ann", "bob", "eve"))
    incident_id = int(response.headers["Location"].rstrip("/").rpartition("/")[2])
    incident_url, thread_url = incident_links(db.session.get(Incident, incident_id))
    for mail in smtp_server.messages:
        text = mail.get_body(("plain",)).get_content()
        assert incident_url in text and thread_url in text


# The SMTP server going down mid fan-out ------------------------------------------------------

@pytest.mark.parametrize("outage", ["crash", "fail"])
def test_an_smtp_outage_mid_fan_out_ends_with_one_copy_each(app, smtp_server,
                                                             clock, outage):
    emails = [f"abonne{n}@example.org" for n in range(8)]
    for email in emails:
        subscribe("informations", email)
    admin = make_user(role="admin")
    message = lists.compose(lists.get_list("informations"), admin, "Panne en cours", "Texte")
    lists.approve(message, admin)
    retry = app.config["OUTBOX_RETRY_SECONDS"]

    def go_down(after: int) -> None:
        if outage == "crash":
            smtp_server.crash_after(after)  # 421, then the listener is closed
        else:
            smtp_server.fail_after(after)  # 451 to every DATA

    def come_back() -> None:
        smtp_server.start()
        smtp_server.fail_after(None)

    # Down after 3 copies: the fan-out job is done, 3 copies are sent, 5 wait for a retry.
    go_down(3)
    assert deliver_due() == {"sent": 4, "retry": 5, "failed": 0}
    assert len(smtp_server.received) == 3
    assert messages()[0].status == "sent"
    come_back()
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}  # not due yet

    # Back, then down again after 2 more: those wait twice as long.
    go_down(5)
    clock.advance(seconds=retry + 1)
    assert deliver_due() == {"sent": 2, "retry": 3, "failed": 0}
    come_back()
    clock.advance(seconds=retry + 1)
    if outage == "fail":  # a 451 doubles the wait of each copy; a crash, the queue's
        assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    clock.advance(seconds=retry + 1)
    assert deliver_due() == {"sent": 3, "retry": 0, "failed": 0}

    assert received_by(smtp_server) == Counter(emails)
    assert len({m["Message-ID"] for m in smtp_server.messages}) == len(emails)
    assert all(m.sent_at is not None and m.failed_at is None for m in outbox())
    # A 451 charges each copy an attempt; a server gone away charges none.
    expected = Counter({1: 3, 2: 2, 3: 3}) if outage == "fail" else Counter({1: 8})
    assert Counter(m.attempts for m in outbox("mail")) == expected


# 5,000 subscribers ---------------------------------------------------------------------------

# The fan-out job is a few statements whatever the number of subscribers (one bulk insert);
# delivery claims and marks each mail in a bounded number of statements, over one connection.
FAN_OUT_STATEMENTS = 12
STATEMENTS_PER_MAIL = 2


@slow
def test_fan_out_to_5000_subscribers(smtp_server, monkeypatch):
    """One approved message to 5,000 active subscribers: the fan-out job (one transaction), then
    every copy through the real SMTP server on loopback. The server keeps the raw bytes here
    rather than parsing each message as the shared fixture does: it runs in this process, and
    its parsing would be counted in the delivery time (a sample is parsed afterwards)."""
    count = 5000
    mailing_list = lists.get_list("informations")
    moment = now()
    rows = [{"list_id": mailing_list.id, "email": f"abonne{n:05}@example.org",
             "status": "active", "token": secrets.token_urlsafe(32), "locale": None,
             "created_at": moment, "confirmed_at": moment} for n in range(count)]
    db.session.execute(insert(Subscription), rows)
    subscribe("informations", "pending@example.org", status="pending")
    admin = make_user(role="admin")
    message = lists.compose(mailing_list, admin, "Message à tous", "Bonjour à **tous**.")
    lists.approve(message, admin)

    raw, sessions = [], set()

    async def keep_raw(server, session, envelope):
        sessions.add(session)  # one per SMTP connection
        raw.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    monkeypatch.setattr(smtp_server, "handle_DATA", keep_raw)  # read per connection

    started = perf_counter()
    with count_queries() as fan_out_statements:
        assert deliver_due(limit=1) == {"sent": 1, "retry": 0, "failed": 0}
    fan_out = perf_counter() - started
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "mail", OutboxMessage.sent_at.is_(None))) == count
    assert raw == []

    started = perf_counter()
    with count_queries() as delivery_statements:
        assert deliver_due() == {"sent": count, "retry": 0, "failed": 0}
    delivery = perf_counter() - started

    # The work, counted: the times vary with the machine (and under coverage) and are only
    # printed; `pytest -s -k 5000` shows them.
    print(f"\nfan-out to {count} subscribers ({db.engine.dialect.name}): job {fan_out:.2f} s, "
          f"{len(fan_out_statements)} statements; delivery {delivery:.2f} s, "
          f"{count / delivery:.0f} messages/s, {len(delivery_statements)} statements, "
          f"{len(sessions)} SMTP connection(s)")
    assert len(fan_out_statements) <= FAN_OUT_STATEMENTS, fan_out_statements
    assert len(delivery_statements) <= STATEMENTS_PER_MAIL * count + 1
    assert len(sessions) == 1
    assert Counter(to for tos, _ in raw for to in tos) == Counter(row["email"] for row in rows)
    assert messages()[0].recipients == count
    tokens = {row["email"]: row["token"] for row in rows}
    for tos, content in raw[:: count // 50]:
        mail = message_from_bytes(content, policy=default)
        [email] = tos
        assert mail["To"].addresses[0].addr_spec == email
        assert mail["List-Unsubscribe"] == f"<{BASE}/lists/unsubscribe/{tokens[email]}>"
        assert mail["Subject"] == "[Informations] Message à tous"
        assert "<strong>tous</strong>" in mail.get_body(("html",)).get_content()
