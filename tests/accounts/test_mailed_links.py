"""Every link we mail (confirm, reset, email change) works once, for the address it was sent
to, and dies with any later change of address or password."""

from datetime import timedelta

from board.accounts.models import User
from board.clock import travel
from board.extensions import db
from board.outbox.services import deliver_due
from tests.accounts.test_views import link_in, mails_to, register
from tests.factories import PASSWORD, make_user

NEW = "a brand new passphrase"


def ask_email_change(client, address):
    response = client.form("/account/email", {"email": address, "password": PASSWORD})
    assert response.status_code == 302
    return link_in(mails_to(address)[-1])


def ask_reset(client, address):
    client.form("/reset", {"email": address})
    deliver_due()
    return link_in(mails_to(address)[-1])


def email_of(user) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).email


def refused(response) -> bool:
    return "pas valide" in response.get_data(as_text=True)


def test_an_old_email_change_link_cannot_switch_the_account_back(client, login_as):
    user = login_as(email="first@example.org")
    link_a = ask_email_change(client, "a@example.org")
    client.form(link_a)
    assert email_of(user) == "a@example.org"
    link_b = ask_email_change(client, "b@example.org")
    client.form(link_b)
    assert email_of(user) == "b@example.org"
    assert refused(client.form(link_a, follow_redirects=True))
    assert email_of(user) == "b@example.org"


def test_an_email_change_link_is_single_use(client, login_as):
    user = login_as(email="first@example.org")
    link = ask_email_change(client, "a@example.org")
    client.form(link)
    assert refused(client.form(link, follow_redirects=True))
    assert email_of(user) == "a@example.org"


def test_confirming_one_email_change_kills_the_other_pending_one(client, login_as):
    user = login_as(email="first@example.org")
    link_a = ask_email_change(client, "a@example.org")
    link_b = ask_email_change(client, "b@example.org")
    client.form(link_a)
    assert refused(client.form(link_b, follow_redirects=True))
    assert email_of(user) == "a@example.org"


def test_an_email_change_link_dies_with_a_password_change(client, login_as):
    user = login_as(email="first@example.org")
    link = ask_email_change(client, "a@example.org")
    client.form("/account/password", {"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert refused(client.form(link, follow_redirects=True))
    assert email_of(user) == "first@example.org"


def test_a_reset_link_dies_with_an_email_change(client, app):
    user = make_user(email="first@example.org")
    reset = ask_reset(app.test_client(), "first@example.org")
    client.login(user.email)
    client.form(ask_email_change(client, "new@example.org"))
    client.logout()
    response = client.get(reset, follow_redirects=True)
    assert refused(response)
    response = client.form(reset, {"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.headers["Location"] == "/reset"
    assert client.login("new@example.org", NEW).status_code == 200  # unchanged password


def test_a_reset_link_dies_with_a_password_change(client, login_as):
    login_as(email="first@example.org")
    reset = ask_reset(client, "first@example.org")
    client.form("/account/password", {"current": PASSWORD, "password": NEW, "confirm": NEW})
    assert refused(client.get(reset, follow_redirects=True))


def test_a_second_reset_link_dies_when_the_first_is_used(client, app):
    make_user(email="first@example.org")
    with travel(timedelta(minutes=-5)):
        first = ask_reset(client, "first@example.org")
    second = ask_reset(client, "first@example.org")
    assert first != second
    client.form(first, {"password": NEW, "confirm": NEW})
    client.logout()
    assert refused(client.get(second, follow_redirects=True))


def test_a_confirmation_link_is_bound_to_the_address_it_was_sent_to(client):
    register(client, email="typo@example.org")
    old_link = link_in(mails_to("typo@example.org")[0])
    client.login("typo@example.org")
    client.form(ask_email_change(client, "right@example.org"))
    user = db.session.query(User).one()
    assert user.email == "right@example.org" and user.is_confirmed
    user.confirmed_at = None  # even were the account unconfirmed again
    db.session.commit()
    assert refused(client.form(old_link, follow_redirects=True))
    assert db.session.get(User, user.id).confirmed_at is None


def test_a_confirmation_link_is_single_use_even_after_a_resend(client):
    register(client)
    first = link_in(mails_to("nadia@example.org")[0])
    client.login("nadia@example.org")
    client.form("/confirm/resend")
    second = link_in(mails_to("nadia@example.org")[1])
    client.form(second)
    assert refused(client.form(first, follow_redirects=True))
