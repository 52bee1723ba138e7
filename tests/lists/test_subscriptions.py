"""Mailing list subscriptions through HTTP, with list mail delivered to a real SMTP server on
loopback: double opt-in, one-click unsubscribe (RFC 8058), the lists offered at registration and
on the account page, subscriptions following an email change, and the language of list mail."""

import html
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.clock import travel
from board.extensions import db
from board.lists import services as lists
from board.lists.models import ListMessage, MailingList, Subscription
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from tests.factories import PASSWORD, make_user

LINK_RE = re.compile(r"http://board\.test(/[^\s\"<>]+)")
CONFIRM_RE = re.compile(r"http://board\.test(/lists/confirm/[A-Za-z0-9_-]{20,})")
UNSUBSCRIBE_URL_RE = re.compile(r"https?://[^<>\s\"]+/lists/unsubscribe/[A-Za-z0-9_-]{20,}")
UNSUBSCRIBE_RE = re.compile(rf"<({UNSUBSCRIBE_URL_RE.pattern})>")
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NOTHING = {"sent": 0, "retry": 0, "failed": 0}
ONE_CLICK = {"List-Unsubscribe": "One-Click"}

# The footer of list mail, as the French catalogue and the English source say it.
FOOTER = {
    "fr": ("Vous recevez ce message car vous êtes inscrit à la liste Informations.",
           "Se désinscrire en un clic"),
    "en": ("You receive this message because you subscribed to the list Informations.",
           "Unsubscribe in one click"),
}


# Reading the database and the outbox ------------------------------------------------------

def status(email: str, slug: str) -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(Subscription.status).join(Subscription.list).where(
        Subscription.email == email, MailingList.slug == slug))


def statuses(email: str) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(select(MailingList.slug, Subscription.status)
                              .join(Subscription.list).where(Subscription.email == email))
    return {slug: state for slug, state in rows}


def subscription(email: str, slug: str) -> Subscription:
    db.session.expire_all()
    return db.session.scalar(select(Subscription).join(Subscription.list).where(
        Subscription.email == email, MailingList.slug == slug))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def mails_to(address: str) -> list[dict]:
    return [row.payload for row in outbox() if row.kind == "mail" and row.payload["to"] == address]


def confirm_links(address: str) -> dict[str, str]:
    """The list confirmation links queued for `address`, by the list named in the subject."""
    links = {}
    for payload in mails_to(address):
        match = CONFIRM_RE.search(payload["text"])
        if match:
            [name] = [n for n in ("Informations", "Travaux") if n in payload["subject"]]
            links[name.lower()] = match.group(1)
    return links


# Pages -----------------------------------------------------------------------------------

def text(response) -> str:
    """The page as a person reads it: entities decoded, no-break spaces plain."""
    return html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


def without_tokens(response) -> str:
    """The page with its CSRF tokens blanked (each carries a timestamp)."""
    return CSRF_RE.sub('name="csrf_token"', response.get_data(as_text=True))


def button_token(page: str, path: str) -> str:
    """The CSRF token of the page's form that posts to `path` (a form naming no action posts to
    the page's own URL) with a submit button: what a person clicking the button sends."""
    for attrs, inner in FORM_RE.findall(page):
        action = re.search(r'action="([^"]*)"', attrs)
        target = html.unescape(action.group(1)) if action else path
        if 'method="post"' in attrs and target == path and 'type="submit"' in inner:
            token = CSRF_RE.search(inner)
            assert token, f"the form posting to {path} has no CSRF token"
            return token.group(1)
    raise AssertionError(f"no button posting to {path} on the page:\n{page[:3000]}")


def press(client, path: str, **kwargs):
    """Open a link from a mail, then press the page's button, as a person does."""
    page = client.get(path, **kwargs)
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={"csrf_token": button_token(page.get_data(as_text=True),
                                                              path)}, **kwargs)


def checkboxes(page: str) -> dict[str, bool]:
    """The `lists` checkboxes of a page: value -> checked."""
    boxes = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        if 'name="lists"' in tag:
            assert 'type="checkbox"' in tag, tag
            boxes[re.search(r'value="([^"]*)"', tag).group(1)] = bool(
                re.search(r"\schecked\b", tag))
    return boxes


def flashes(client, response) -> str:
    """Follow a redirect and return the flashed messages it shows."""
    assert response.status_code == 302, response.data[:300]
    page = text(client.get(response.headers["Location"]))
    return " ".join(re.findall(r'<p class="flash[^"]*">(.*?)</p>', page, re.S))


# Actions ---------------------------------------------------------------------------------

def subscribe(client, email: str, *slugs: str, language: str = "fr"):
    return client.form("/lists/", {"email": email, "lists": list(slugs)},
                       headers={"Accept-Language": language})


def join(client, email: str, *slugs: str, language: str = "fr") -> None:
    """Subscribe a new address through the form and follow each confirmation link."""
    sent = len(mails_to(email))
    assert subscribe(client, email, *slugs, language=language).status_code == 200
    assert len(mails_to(email)) == sent + len(slugs)
    links = confirm_links(email)
    for slug in slugs:
        flashes(client, press(client, links[slug], headers={"Accept-Language": language}))
    assert statuses(email) == dict.fromkeys(slugs, "active")


def send_to_list(smtp_server, slug: str, subject: str = "Nouvelle offre",
                 body: str = "Bonjour,\n\nUne **nouvelle** offre est disponible.") -> dict:
    """An admin writes and approves a message; the worker fans it out, then sends it. Returns
    the messages the SMTP server received, by envelope recipient."""
    deliver_due()  # whatever was queued before (confirmations...) is out of the way
    smtp_server.reset()
    admin = make_user(role="admin")
    message = lists.compose(lists.get_list(slug), admin, subject, body)
    lists.approve(message, admin)
    before = {row.id for row in outbox()}

    # First run: the fan-out job becomes one pending mail row per active subscriber.
    assert deliver_due(limit=1) == {**NOTHING, "sent": 1}
    rows = outbox()
    [job] = [row for row in rows if row.kind == "list_fanout"
             and row.payload == {"message_id": message.id}]
    assert job.state == "sent"
    mails = [row for row in rows if row.id not in before]
    assert {(row.kind, row.state) for row in mails} <= {("mail", "pending")}
    assert smtp_server.received == []

    # Second run: every mail row is sent.
    assert deliver_due() == {**NOTHING, "sent": len(mails)}
    assert {row.state for row in outbox()} == {"sent"}
    message = db.session.get(ListMessage, message.id)
    assert (message.status, message.recipients) == ("sent", len(mails))

    received = {}
    for item in smtp_server.received:
        [recipient] = item.rcpt_tos
        assert recipient not in received, f"{recipient} received the message twice"
        received[recipient] = item.message
    assert sorted(received) == sorted(row.payload["to"] for row in mails)
    return received


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def raw_header(message: EmailMessage, name: str) -> str:
    """A header as it travelled, unfolded but not decoded."""
    [value] = [v for k, v in message.raw_items() if k.lower() == name.lower()]
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


# Double opt-in ------------------------------------------------------------------------------

def test_subscribing_mails_one_confirmation_per_list_and_the_button_confirms(
        app, client, smtp_server):
    response = subscribe(client, "Alice@Example.org", "informations", "travaux")
    assert response.status_code == 200
    assert "Alice@Example.org" in text(response)
    assert statuses("alice@example.org") == {"informations": "pending", "travaux": "pending"}
    assert smtp_server.received == []  # nothing leaves before the worker runs
    assert [m["to"] for m in mails_to("alice@example.org")] == ["alice@example.org"] * 2

    assert deliver_due() == {**NOTHING, "sent": 2}
    assert sorted(smtp_server.recipients()) == ["alice@example.org"] * 2
    mail_from = parseaddr(app.config["MAIL_FROM"])
    links = {}
    for message in smtp_server.messages:
        assert message["To"].addresses[0].addr_spec == "alice@example.org"
        assert (message["From"].addresses[0].display_name,
                message["From"].addresses[0].addr_spec) == mail_from
        [name] = [n for n in ("Informations", "Travaux") if n in message["Subject"]]
        plain, rich = parts(message)
        [path] = set(CONFIRM_RE.findall(plain))
        assert f'href="http://board.test{path}"' in rich
        links[name.lower()] = path
    assert sorted(links) == ["informations", "travaux"]
    assert links["informations"] != links["travaux"]

    # Opening the link (as a mail scanner does) only shows a button.
    page = client.get(links["informations"])
    assert page.status_code == 200
    assert status("alice@example.org", "informations") == "pending"
    token = button_token(page.get_data(as_text=True), links["informations"])

    # Pressing it (a POST with the page's CSRF token) confirms that list, and only that one.
    response = client.post(links["informations"], data={"csrf_token": token})
    assert "Vous êtes inscrit à la liste Informations." in flashes(client, response)
    assert statuses("alice@example.org") == {"informations": "active", "travaux": "pending"}
    confirmed_at = subscription("alice@example.org", "informations").confirmed_at
    assert confirmed_at is not None

    # The link works once: used again, it is refused and changes nothing.
    again = client.post(links["informations"], data={"csrf_token": token})
    assert "Ce lien n'est pas valide ou a déjà été utilisé." in flashes(client, again)
    assert statuses("alice@example.org") == {"informations": "active", "travaux": "pending"}
    assert subscription("alice@example.org", "informations").confirmed_at == confirmed_at

    # A POST without the CSRF token (another site's form) confirms nothing.
    assert client.post(links["travaux"]).status_code == 400
    assert status("alice@example.org", "travaux") == "pending"
    assert press(client, links["travaux"]).status_code == 302
    assert statuses("alice@example.org") == {"informations": "active", "travaux": "active"}


def test_confirmation_link_expires_after_list_confirm_days(app, client, clock):
    subscribe(client, "late@example.org", "informations", "travaux")
    links = confirm_links("late@example.org")
    days = app.config["LIST_CONFIRM_DAYS"]

    clock.advance(days=days, minutes=-1)  # just in time
    response = press(client, links["informations"])
    assert "Vous êtes inscrit à la liste Informations." in flashes(client, response)

    clock.advance(minutes=2)  # just too late
    response = press(client, links["travaux"])
    assert "Ce lien a expiré. Merci de vous inscrire à nouveau." in flashes(client, response)
    assert statuses("late@example.org") == {"informations": "active", "travaux": "pending"}

    # Asking again sends a fresh link, which works.
    subscribe(client, "late@example.org", "travaux")
    fresh = confirm_links("late@example.org")["travaux"]
    assert fresh != links["travaux"]
    assert press(client, fresh).status_code == 302
    assert status("late@example.org", "travaux") == "active"


def test_the_answer_is_the_same_for_an_unknown_pending_or_subscribed_address(client):
    unknown = subscribe(client, "zoe@example.org", "informations", "travaux")
    assert len(mails_to("zoe@example.org")) == 2
    # Asking again at once sends nothing more: no mail bombing through our form.
    pending = subscribe(client, "zoe@example.org", "informations", "travaux")
    assert len(mails_to("zoe@example.org")) == 2
    # Ten minutes later, a new link for each list.
    with travel(timedelta(minutes=11)):
        subscribe(client, "zoe@example.org", "informations", "travaux")
    assert len(mails_to("zoe@example.org")) == 4
    for path in confirm_links("zoe@example.org").values():  # the latest link of each list
        assert "Vous êtes inscrit" in flashes(client, press(client, path))
    assert statuses("zoe@example.org") == {"informations": "active", "travaux": "active"}
    subscribed = subscribe(client, "zoe@example.org", "informations", "travaux")

    assert unknown.status_code == pending.status_code == subscribed.status_code == 200
    assert without_tokens(unknown) == without_tokens(pending) == without_tokens(subscribed)
    # Subscribed already: no mail, and the subscriptions stay active (not back to pending).
    assert len(mails_to("zoe@example.org")) == 4
    assert statuses("zoe@example.org") == {"informations": "active", "travaux": "active"}


@pytest.mark.parametrize(("data", "message"), [
    ({"email": "not an address", "lists": ["informations"]},
     "Veuillez saisir une adresse e-mail valide."),
    ({"email": "", "lists": ["informations"]}, None),
    ({"email": "zoe@example.org"}, "Choisissez au moins une liste."),
    ({"email": "zoe@example.org", "lists": []}, "Choisissez au moins une liste."),
    ({"email": "zoe@example.org", "lists": ["nope"]}, None),
], ids=["bad-email", "no-email", "no-list", "empty-list", "unknown-list"])
def test_invalid_subscription_shows_a_message_and_stores_nothing(client, data, message):
    response = client.form("/lists/", data)
    assert response.status_code == 422
    page = text(response)
    assert 'class="error"' in page
    if message:
        assert message in page
    assert count(Subscription) == 0
    assert count(OutboxMessage) == 0


# The confirmation once checked its CSRF token with a form holding a `lists` field without
# choices: any POST carrying a `lists` value raised TypeError, a 500.
def test_a_stray_field_in_the_confirmation_post_is_no_server_error(client):
    subscribe(client, "stray@example.org", "informations")
    [path] = confirm_links("stray@example.org").values()
    response = client.form(path, {"lists": "travaux"})
    assert response.status_code in (302, 400)


# List mail and unsubscribing ----------------------------------------------------------------

def test_list_mail_carries_list_headers_and_each_recipient_own_unsubscribe_link(
        app, client, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "LISTS_DOMAIN", "listes.example.net")
    subscribers = ["alice@example.org", "bob@example.org", "carol@example.org"]
    for address in subscribers:
        join(client, address, "informations")
    join(client, "dave@example.org", "travaux")
    subscribe(client, "eve@example.org", "informations")  # never confirmed

    before = datetime.now(UTC)
    received = send_to_list(smtp_server, "informations", subject="Nouvelle offre")
    assert sorted(received) == subscribers

    mail_from = parseaddr(app.config["MAIL_FROM"])
    urls, message_ids = set(), set()
    for address, message in received.items():
        assert message["To"].addresses[0].addr_spec == address
        assert (message["From"].addresses[0].display_name,
                message["From"].addresses[0].addr_spec) == mail_from
        assert message["Subject"] == "[Informations] Nouvelle offre"
        assert message["List-Id"] == "Informations <informations.listes.example.net>"
        assert re.fullmatch(r"[^<>]+ <[a-z0-9-]+(\.[a-z0-9-]+)+>", message["List-Id"])
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Post"] == "NO"
        sent = message["Date"].datetime
        assert sent.tzinfo is not None
        assert before - timedelta(seconds=5) <= sent <= datetime.now(UTC) + timedelta(seconds=5)
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message["Message-ID"])
        message_ids.add(message["Message-ID"])

        # One URL in angle brackets, plain ASCII as sent (no RFC 2047 encoded words, which
        # mail providers cannot read back as a URL), the recipient's own.
        unsubscribe = raw_header(message, "List-Unsubscribe")
        assert "=?" not in unsubscribe
        [url] = UNSUBSCRIBE_RE.fullmatch(unsubscribe).groups()
        assert url.startswith("http://board.test/lists/unsubscribe/")
        assert url.endswith("/" + subscription(address, "informations").token)
        urls.add(url)

        plain, rich = parts(message)
        assert "Une nouvelle offre est disponible." in plain.replace("**", "")
        assert "<strong>nouvelle</strong>" in rich
        assert url in plain
        assert f'href="{url}"' in rich
        assert set(UNSUBSCRIBE_URL_RE.findall(plain + rich)) == {url}  # nobody else's
    assert len(urls) == len(message_ids) == len(subscribers)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data"])
def test_one_click_unsubscribe_from_a_mail_provider(app, client, smtp_server, content_type):
    join(client, "alice@example.org", "informations")
    join(client, "bob@example.org", "informations", "travaux")
    received = send_to_list(smtp_server, "informations")
    url = UNSUBSCRIBE_RE.fullmatch(received["bob@example.org"]["List-Unsubscribe"]).group(1)

    # The provider's POST: no cookie, no CSRF token, no login.
    provider = app.test_client()
    response = provider.post(urlsplit(url).path, data=ONE_CLICK, content_type=content_type)
    assert 200 <= response.status_code < 300
    assert statuses("bob@example.org") == {"informations": "unsubscribed", "travaux": "active"}
    assert status("alice@example.org", "informations") == "active"
    # A retry by the provider is answered the same way.
    again = app.test_client().post(urlsplit(url).path, data=ONE_CLICK, content_type=content_type)
    assert 200 <= again.status_code < 300
    assert status("bob@example.org", "informations") == "unsubscribed"

    received = send_to_list(smtp_server, "informations", subject="Deuxième message")
    assert sorted(received) == ["alice@example.org"]
    assert sorted(send_to_list(smtp_server, "travaux")) == ["bob@example.org"]


def test_unsubscribe_link_shows_a_button_and_unknown_tokens_are_not_found(
        app, client, smtp_server):
    join(client, "carol@example.org", "informations")
    received = send_to_list(smtp_server, "informations")
    plain, _rich = parts(received["carol@example.org"])
    [url] = set(UNSUBSCRIBE_URL_RE.findall(plain))
    path = urlsplit(url).path

    reader = app.test_client()  # clicking the link in the mail, not logged in
    page = reader.get(path)
    assert page.status_code == 200
    assert "carol@example.org" in text(page)
    assert status("carol@example.org", "informations") == "active"  # a GET changes nothing
    response = reader.post(path, data={"csrf_token": button_token(page.get_data(as_text=True),
                                                                   path)})
    assert response.status_code == 200
    assert "carol@example.org" in text(response)
    assert status("carol@example.org", "informations") == "unsubscribed"
    assert subscription("carol@example.org", "informations").unsubscribed_at is not None

    unknown = "/lists/unsubscribe/" + "x" * 43
    assert reader.get(unknown).status_code == 404
    assert reader.post(unknown, data=ONE_CLICK).status_code == 404

    assert send_to_list(smtp_server, "informations") == {}


# Registration and the account page ------------------------------------------------------------

@pytest.mark.parametrize("chosen", [[], ["travaux"]])
def test_registration_offers_both_lists_unticked(client, smtp_server, chosen):
    boxes = checkboxes(client.get("/register").get_data(as_text=True))
    assert boxes == {"informations": False, "travaux": False}

    response = client.form("/register", {"email": "nadia@example.org", "name": "Nadia K.",
                                          "password": PASSWORD, "lists": chosen})
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.email == "nadia@example.org"))
    assert user is not None
    assert statuses("nadia@example.org") == dict.fromkeys(chosen, "pending")

    assert deliver_due() == {**NOTHING, "sent": 1 + len(chosen)}
    assert smtp_server.recipients() == ["nadia@example.org"] * (1 + len(chosen))
    list_mail = [m for m in smtp_server.messages if CONFIRM_RE.search(parts(m)[0])]
    if not chosen:
        assert list_mail == []
        return
    [message] = list_mail
    assert "Travaux" in message["Subject"] and "Informations" not in message["Subject"]
    # Not the account's until its address is confirmed: nobody proved it is theirs yet.
    assert subscription("nadia@example.org", "travaux").user_id is None
    path = CONFIRM_RE.search(parts(message)[0]).group(1)
    assert press(client, path).status_code == 302
    assert statuses("nadia@example.org") == {"travaux": "active"}


def test_member_changes_subscriptions_on_the_account_page_without_confirmation(app, client,
                                                                                login_as):
    join(app.test_client(), "member@example.org", "informations")  # before having an account
    mails = count(OutboxMessage)
    user = login_as(email="member@example.org")
    assert checkboxes(client.get("/account").get_data(as_text=True)) == {
        "informations": True, "travaux": False}

    response = client.form("/account/lists", {"lists": ["informations", "travaux"]})
    assert "Vos listes de diffusion sont enregistrées." in flashes(client, response)
    assert statuses("member@example.org") == {"informations": "active", "travaux": "active"}
    assert subscription("member@example.org", "travaux").user_id == user.id
    assert checkboxes(client.get("/account").get_data(as_text=True)) == {
        "informations": True, "travaux": True}

    client.form("/account/lists", {"lists": ["travaux"]})
    assert statuses("member@example.org") == {"informations": "unsubscribed",
                                              "travaux": "active"}
    assert checkboxes(client.get("/account").get_data(as_text=True)) == {
        "informations": False, "travaux": True}

    client.form("/account/lists", {})  # every box unticked
    assert statuses("member@example.org") == {"informations": "unsubscribed",
                                              "travaux": "unsubscribed"}
    client.form("/account/lists", {"lists": ["informations"]})
    assert statuses("member@example.org") == {"informations": "active",
                                              "travaux": "unsubscribed"}
    assert count(OutboxMessage) == mails  # no confirmation mail at any step
    assert count(Subscription) == 2


def test_unconfirmed_member_cannot_subscribe_from_the_account_page(client, login_as):
    login_as(email="fresh@example.org", confirmed=False)
    response = client.form("/account/lists", {"lists": ["informations", "travaux"]})
    assert "Confirmez d'abord votre adresse e-mail" in flashes(client, response)
    assert count(Subscription) == 0
    assert count(OutboxMessage) == 0
    assert checkboxes(client.get("/account").get_data(as_text=True)) == {
        "informations": False, "travaux": False}


# Email change ------------------------------------------------------------------------------

def change_email(client, user, new: str) -> None:
    """Ask for the change on the account page, then follow the link mailed to `new`."""
    response = client.form("/account/email", {"email": new, "password": PASSWORD})
    assert response.status_code == 302
    [path] = [link for mail in mails_to(new) for link in LINK_RE.findall(mail["text"])
              if link.startswith("/account/email/")]
    page = client.get(path)
    assert page.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).email != new  # the GET changed nothing
    token = button_token(page.get_data(as_text=True), path)
    assert client.post(path, data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == new


def test_subscriptions_follow_an_email_change(client, smtp_server, login_as):
    user = login_as(email="old@example.org")
    client.form("/account/lists", {"lists": ["informations", "travaux"]})
    assert statuses("old@example.org") == {"informations": "active", "travaux": "active"}

    change_email(client, user, "new@example.org")
    assert statuses("old@example.org") == {}
    assert statuses("new@example.org") == {"informations": "active", "travaux": "active"}
    assert {s.user_id for s in db.session.scalars(select(Subscription))} == {user.id}
    assert checkboxes(client.get("/account").get_data(as_text=True)) == {
        "informations": True, "travaux": True}

    assert sorted(send_to_list(smtp_server, "informations")) == ["new@example.org"]
    assert sorted(send_to_list(smtp_server, "travaux")) == ["new@example.org"]


def test_email_change_onto_an_address_already_pending_keeps_one_active_subscription(
        app, client, smtp_server, login_as):
    # Somebody asked for the list at the new address, and never confirmed.
    subscribe(app.test_client(), "new@example.org", "informations")
    user = login_as(email="old@example.org")
    client.form("/account/lists", {"lists": ["informations"]})

    change_email(client, user, "new@example.org")
    assert statuses("new@example.org") == {"informations": "active"}
    assert count(Subscription) == 1
    assert subscription("new@example.org", "informations").user_id == user.id
    assert sorted(send_to_list(smtp_server, "informations")) == ["new@example.org"]


# Language ------------------------------------------------------------------------------------

def test_list_mail_footer_is_in_the_subscriber_language(client, smtp_server):
    subscribe(client, "anna@example.org", "informations", language="en-GB,en;q=0.9")
    subscribe(client, "francois@example.org", "informations", language="fr-FR,fr;q=0.9")
    [english] = mails_to("anna@example.org")
    [french] = mails_to("francois@example.org")
    assert english["subject"] == "Confirm your subscription to the list Informations"
    assert french["subject"] == "Confirmez votre inscription à la liste Informations"
    for address in ("anna@example.org", "francois@example.org"):
        assert press(client, confirm_links(address)["informations"]).status_code == 302

    received = send_to_list(smtp_server, "informations")
    for address, language, other in [("anna@example.org", "en", "fr"),
                                     ("francois@example.org", "fr", "en")]:
        plain, rich = parts(received[address])
        rich = html.unescape(rich)
        for wording in FOOTER[language]:
            assert wording in plain.replace("\u00a0", " ")
            assert wording in rich.replace("\u00a0", " ")
        for wording in FOOTER[other]:
            assert wording not in plain + rich
        assert f'<html lang="{language}">' in rich
