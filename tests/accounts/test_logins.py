"""Logins end for real: logout, log out everywhere, password and email changes kill the cookies
they are meant to kill, even copied into another browser."""

from datetime import timedelta

from sqlalchemy import func, select

from board.accounts.models import UserSession
from board.clock import travel
from board.extensions import db
from tests.accounts.test_views import link_in, mails_to
from tests.factories import PASSWORD, make_user


def log_in(client, user, remember=False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.form("/login", data)
    assert response.status_code == 302, response.data[:300]
    return response


def copy_of(app, client, *names):
    """A second browser holding copies of `client`'s cookies (a stolen or synced cookie jar)."""
    other = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        other.set_cookie(name, cookie.value)
    return other


def is_logged_in(client, user) -> bool:
    response = client.get("/account")
    return response.status_code == 200 and user.name in response.get_data(as_text=True)


def test_logout_ends_a_copied_session_cookie(app, client):
    user = make_user()
    log_in(client, user)
    thief = copy_of(app, client, "session")
    assert is_logged_in(thief, user)
    client.logout()
    assert not is_logged_in(thief, user)
    assert not is_logged_in(client, user)


def test_logout_ends_a_copied_remember_cookie(app, client):
    user = make_user()
    log_in(client, user, remember=True)
    thief = copy_of(app, client, "remember_token")  # no session: the remember cookie logs in
    client.logout()
    assert not is_logged_in(thief, user)


def test_logout_leaves_the_other_devices_logged_in(app, client):
    user = make_user()
    laptop = app.test_client()
    log_in(laptop, user, remember=True)
    log_in(client, user)
    client.logout()
    assert is_logged_in(laptop, user)
    assert not is_logged_in(client, user)


def test_log_out_everywhere_ends_every_login_and_its_cookies(app, client):
    user = make_user()
    laptop = app.test_client()
    log_in(laptop, user, remember=True)
    laptop_remembered = copy_of(app, laptop, "remember_token")
    log_in(client, user)
    response = client.form("/account/logout-everywhere")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_logged_in(client, user)
    assert not is_logged_in(laptop, user)
    assert not is_logged_in(laptop_remembered, user)
    assert db.session.scalar(select(func.count(UserSession.id))) == 0


def test_password_change_ends_the_other_logins_and_keeps_this_one(app, client):
    user = make_user()
    phone = app.test_client()
    log_in(phone, user, remember=True)
    phone_remembered = copy_of(app, phone, "remember_token")
    log_in(client, user, remember=True)
    this_remembered = copy_of(app, client, "remember_token")
    new = "another long passphrase"
    response = client.form("/account/password",
                           {"current": PASSWORD, "password": new, "confirm": new})
    assert response.status_code == 302
    assert is_logged_in(client, user)
    assert is_logged_in(this_remembered, user)
    assert not is_logged_in(phone, user)
    assert not is_logged_in(phone_remembered, user)


def test_email_change_ends_the_other_logins(app, client):
    user = make_user(email="old@example.org")
    phone = app.test_client()
    log_in(phone, user, remember=True)
    phone_remembered = copy_of(app, phone, "remember_token")
    log_in(client, user)
    client.form("/account/email", {"email": "new@example.org", "password": PASSWORD})
    client.form(link_in(mails_to("new@example.org")[0]))
    assert is_logged_in(client, user)
    assert not is_logged_in(phone, user)
    assert not is_logged_in(phone_remembered, user)


def test_email_change_confirmed_from_another_browser_ends_every_login(app, client):
    user = make_user(email="old@example.org")
    log_in(client, user)
    client.form("/account/email", {"email": "new@example.org", "password": PASSWORD})
    mailbox = app.test_client()  # the link is opened in the webmail's browser
    mailbox.form(link_in(mails_to("new@example.org")[0]))
    assert not is_logged_in(client, user)


def test_remember_me_lasts_thirty_days_even_in_a_copied_cookie(app, client):
    user = make_user()
    response = log_in(client, user, remember=True)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie")
                if c.startswith("remember_token=")]
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)
    thief = copy_of(app, client, "remember_token")
    with travel(timedelta(days=29)):
        assert is_logged_in(thief, user)
    with travel(timedelta(days=31)):
        # The cookie's own expiry is the browser's business; the login row says no.
        assert not is_logged_in(copy_of(app, client, "remember_token"), user)
        log_in(app.test_client(), user)  # and it goes when its owner logs in again
    assert db.session.scalar(select(func.count(UserSession.id))) == 1


def test_a_cookie_from_before_logins_had_keys_is_refused(app, client):
    user = make_user()
    other = app.test_client()
    with app.test_request_context():
        from flask_login.utils import encode_cookie

        old_style = encode_cookie(f"{user.id}:{user.session_version}")
    other.set_cookie("remember_token", old_style)
    assert not is_logged_in(other, user)


def test_disabling_an_account_ends_its_logins(app, client):
    from board.accounts import services

    user = make_user()
    admin = make_user(role="admin")
    log_in(client, user, remember=True)
    services.set_disabled(user, True, admin)
    assert db.session.scalar(select(func.count(UserSession.id))) == 0
    services.set_disabled(user, False, admin)
    assert not is_logged_in(copy_of(app, client, "remember_token"), user)
