"""Accounts through HTTP: register, confirm, log in and out, reset, account page."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.clock import travel
from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from tests.factories import PASSWORD, make_user

LINK_RE = re.compile(r"http://board\.test(/\S+)")


def mails_to(address):
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail")
                              .order_by(OutboxMessage.id)).all()
    return [row.payload for row in rows if row.payload["to"] == address]


def link_in(mail) -> str:
    return LINK_RE.search(mail["text"]).group(1)


def without_tokens(page: str) -> str:
    """The page with its CSRF tokens blanked (they carry a timestamp)."""
    return re.sub(r'name="csrf_token"( type="hidden")? value="[^"]+"', "", page)


def register(client, email="nadia@example.org", name="Nadia K.", password=PASSWORD):
    return client.form("/register", {"email": email, "name": name, "password": password})


def test_register_queues_confirmation_and_confirm_does_not_log_in(client):
    page = register(client).get_data(as_text=True)
    assert "nadia@example.org" in page
    user = db.session.scalar(select(User).where(User.email == "nadia@example.org"))
    assert user.confirmed_at is None
    [mail] = mails_to("nadia@example.org")
    assert "Confirmez" in mail["subject"]
    assert mail["html"] and "<a href=" in mail["html"]
    path = link_in(mail)
    # Following the link only shows a button: mail scanners confirm nothing.
    assert client.get(path).status_code == 200
    db.session.refresh(user)
    assert user.confirmed_at is None
    response = client.form(path)
    # The link proves the mailbox, not the password: it leads to the login page.
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    db.session.refresh(user)
    assert user.confirmed_at is not None
    assert "Nadia K." not in client.get("/").get_data(as_text=True)
    # Single use.
    again = client.form(path, follow_redirects=True).get_data(as_text=True)
    assert "pas valide" in again
    assert client.login("nadia@example.org").status_code == 302
    assert "Nadia K." in client.get("/").get_data(as_text=True)


def test_confirmation_link_dies_with_a_password_change(client):
    register(client)
    path = link_in(mails_to("nadia@example.org")[0])
    user = db.session.scalar(select(User))
    from board.accounts import services

    services.set_password(user, "another long passphrase")  # as a reset would
    user.confirmed_at = None
    db.session.commit()
    response = client.form(path, follow_redirects=True)
    assert "pas valide" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).confirmed_at is None


def test_register_lowercases_email_and_refuses_taken_name(client):
    make_user(name="Karim B.")
    page = register(client, email="Someone@Example.ORG", name="karim b.").get_data(as_text=True)
    assert "déjà pris" in page
    assert db.session.scalar(select(func.count(User.id))) == 1
    register(client, email="Someone@Example.ORG", name="Someone")
    assert db.session.scalar(select(User.email).where(User.name == "Someone")) == \
        "someone@example.org"


def test_register_with_known_email_reveals_nothing(client):
    existing = make_user(email="taken@example.org")
    page = register(client, email="TAKEN@example.org", name="Another").get_data(as_text=True)
    fresh = register(client, email="fresh@example.org", name="Fresh").get_data(as_text=True)
    # The same page either way, and the owner hears of it by mail.
    assert without_tokens(page.replace("TAKEN@example.org", "X")) == \
        without_tokens(fresh.replace("fresh@example.org", "X"))
    assert db.session.scalar(select(func.count(User.id))) == 2
    [mail] = mails_to(existing.email)
    assert "/login" in mail["text"] and "/reset" in mail["text"]


@pytest.mark.parametrize("data, message", [
    ({"email": "not-an-email", "name": "Valid", "password": PASSWORD}, "adresse e-mail valide"),
    ({"email": "a@example.org", "name": "V", "password": PASSWORD}, "Nom affiché"),
    ({"email": "a@example.org", "name": "Valid", "password": "short"}, "10 caractères"),
    ({"email": "a@example.org", "name": "<script>", "password": PASSWORD}, "Lettres"),
])
def test_register_rejects_bad_input_with_a_message(client, data, message):
    response = client.form("/register", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_expired_confirmation_link_is_refused(client):
    register(client)
    path = link_in(mails_to("nadia@example.org")[0])
    with travel(timedelta(days=4)):
        response = client.form(path, follow_redirects=True)
    assert "expiré" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.confirmed_at)) is None


def test_forged_confirmation_link_is_refused(client):
    register(client)
    path = link_in(mails_to("nadia@example.org")[0])
    response = client.form(path[:-3] + "abc", follow_redirects=True)
    assert "pas valide" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.confirmed_at)) is None


def test_login_and_logout(client):
    user = make_user(name="Sophie")
    response = client.login(user.email.upper())
    assert response.status_code == 302
    assert "Sophie" in client.get("/").get_data(as_text=True)
    assert client.get("/logout").status_code == 405
    client.logout()
    assert "Sophie" not in client.get("/").get_data(as_text=True)


def test_wrong_password_and_unknown_email_look_the_same(client):
    make_user(email="known@example.org")
    wrong = client.login("known@example.org", "wrong password!").get_data(as_text=True)
    unknown = client.login("nobody@example.org", "wrong password!").get_data(as_text=True)
    assert "incorrect" in wrong
    assert without_tokens(wrong.replace("known@", "X@")) == \
        without_tokens(unknown.replace("nobody@", "X@"))


def test_disabled_user_cannot_log_in(client):
    user = make_user()
    from board.clock import now
    user.disabled_at = now()
    db.session.commit()
    assert client.login(user.email).status_code == 200


@pytest.mark.parametrize("target, expected", [
    ("/boards/x", "/boards/x"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_only_leads_to_this_site(client, target, expected):
    user = make_user()
    response = client.form(f"/login?next={target}", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_remember_me_sets_a_lasting_cookie(client):
    user = make_user()
    response = client.form("/login", {"email": user.email, "password": PASSWORD,
                                      "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "Expires=" in remember[0]


def test_session_cookie_is_httponly_and_lax(client):
    user = make_user()
    cookie = [c for c in client.login(user.email).headers.getlist("Set-Cookie")
              if c.startswith("session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_reset_flow_is_single_use(client):
    user = make_user(email="reset@example.org")
    page = client.form("/reset", {"email": "reset@example.org"}).get_data(as_text=True)
    unknown = client.form("/reset", {"email": "nobody@example.org"}).get_data(as_text=True)
    assert without_tokens(page.replace("reset@", "X@")) == \
        without_tokens(unknown.replace("nobody@", "X@"))
    deliver_due()  # the worker writes the reset mail
    [mail] = mails_to("reset@example.org")
    path = link_in(mail)
    new = "a brand new passphrase"
    response = client.form(path, {"password": new, "confirm": new})
    assert response.status_code == 302
    client.logout()
    assert client.login(user.email, new).status_code == 302
    client.logout()
    # The link died with the change it made.
    again = client.get(path, follow_redirects=True).get_data(as_text=True)
    assert "pas valide" in again
    assert client.login(user.email, PASSWORD).status_code == 200


def test_login_is_rate_limited(client):
    user = make_user()
    codes = [client.login(user.email, "wrong password!").status_code for _ in range(11)]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429
    assert "Trop de" in client.login(user.email).get_data(as_text=True)


def test_account_page_changes_name_and_language(client, login_as):
    login_as(name="Old Name")
    response = client.form("/account/profile", {"name": "New Name", "locale": "en"})
    assert response.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "New Name" in page and "My account" in page


def test_email_change_needs_confirmation_from_the_new_address(client, login_as):
    user = login_as(email="old@example.org")
    response = client.form("/account/email", {"email": "New@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert db.session.get(User, user.id).email == "old@example.org"
    [notice] = mails_to("old@example.org")
    assert "new@example.org" in notice["text"]
    path = link_in(mails_to("new@example.org")[0])
    client.form(path)
    assert db.session.get(User, user.id).email == "new@example.org"


def test_email_change_with_wrong_password_changes_nothing(client, login_as):
    login_as(email="old@example.org")
    response = client.form("/account/email", {"email": "new@example.org", "password": "nope"})
    assert response.status_code == 422
    assert "Mot de passe incorrect" in response.get_data(as_text=True)
    assert mails_to("new@example.org") == []


def test_password_change_ends_other_sessions(app, client, login_as):
    user = login_as()
    other = app.test_client()
    other.login(user.email)
    assert user.name in other.get("/account").get_data(as_text=True)
    new = "another long passphrase"
    response = client.form("/account/password",
                           {"current": PASSWORD, "password": new, "confirm": new})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_unconfirmed_member_can_read_but_not_write(client, login_as):
    from tests.factories import make_board

    board = make_board()
    login_as(confirmed=False)
    assert client.get(f"/boards/{board.slug}").status_code == 200
    response = client.get(f"/boards/{board.slug}/new")
    assert response.status_code == 302 and response.headers["Location"] == "/account"


def test_language_follows_accept_language_then_choice(client):
    assert "Forums" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)
    client.form("/language", {"locale": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_users_create_command(runner):
    result = runner.invoke(args=["users", "create", "--email", "Boss@Example.org", "--name",
                                 "Boss", "--password", "long enough pass", "--role", "admin"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@example.org"))
    assert user.role == "admin" and user.confirmed_at is not None
    again = runner.invoke(args=["users", "create", "--email", "boss@example.org", "--name",
                                "Other", "--password", "long enough pass"])
    assert again.exit_code != 0 and "already exists" in again.output
