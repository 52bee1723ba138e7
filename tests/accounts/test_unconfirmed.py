"""An account whose address nobody confirmed may read, confirm, resend, correct its address,
log out or delete itself; nothing else, and it sees nothing of the address it typed."""

import re

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.extensions import db
from board.forum.models import Affected, Watch
from board.lists.models import Subscription
from board.lists.services import all_lists, subscribe
from board.urls import site_context
from tests.accounts.test_views import link_in, mails_to
from tests.factories import PASSWORD, make_thread, make_user


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("action, data", [
    ("watch", {"watch": "1"}),
    ("affected", {}),
])
def test_an_unconfirmed_account_cannot_watch_nor_say_affected(client, login_as, action, data):
    thread = make_thread()
    login_as(confirmed=False)
    response = client.form(f"/threads/{thread.id}/{action}", data)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert count(Watch) == 1 and count(Affected) == 0  # the author's own watch only
    page = client.get("/account").get_data(as_text=True)
    assert "confirmer votre adresse" in page


@pytest.mark.parametrize("path, data", [
    ("/account/profile", {"name": "Renamed", "locale": "en"}),
    ("/account/password", {"current": PASSWORD, "password": "x" * 12, "confirm": "x" * 12}),
    ("/account/lists", {"lists": "informations"}),
])
def test_an_unconfirmed_account_cannot_change_its_profile(client, login_as, path, data):
    user = login_as(confirmed=False, name="Unconfirmed")
    before = (user.name, user.locale, user.password_hash)
    response = client.form(path, data)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.locale, user.password_hash) == before
    assert count(Subscription) == 0


def test_an_unconfirmed_account_may_still_resend_and_correct_its_address(client, login_as):
    user = login_as(confirmed=False, email="typo@example.org")
    client.form("/confirm/resend")
    assert len(mails_to("typo@example.org")) == 1
    client.form("/account/email", {"email": "right@example.org", "password": PASSWORD})
    client.form(link_in(mails_to("right@example.org")[0]))
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.email == "right@example.org" and user.is_confirmed


def test_an_unconfirmed_account_sees_nothing_of_the_typed_address_lists(client, login_as):
    informations = all_lists()[0]
    with site_context():
        subscribe("victim@example.org", [informations], "fr")
    subscription = db.session.scalar(select(Subscription))
    subscription.status = "active"
    db.session.commit()
    login_as(confirmed=False, email="victim@example.org")
    page = client.get("/account").get_data(as_text=True)
    boxes = re.findall(r"<input[^>]*name=\"lists\"[^>]*>", page)
    assert boxes and not [box for box in boxes if "checked" in box], boxes


def test_a_typed_address_lists_do_not_follow_the_account_to_its_own_address(client):
    informations = all_lists()[0]
    # Someone registers with another person's address and ticks a list; that person
    # confirms the list (their mailbox, their choice).
    client.form("/register", {"email": "victim@example.org", "name": "Squatter",
                              "password": PASSWORD, "lists": informations.slug})
    list_link = [m for m in mails_to("victim@example.org") if "/lists/" in m["text"]][0]
    client.form(link_in(list_link))
    subscription = db.session.scalar(select(Subscription))
    assert subscription.status == "active" and subscription.user_id is None
    # The squatter moves the account to their own address: the list stays with its owner.
    client.login("victim@example.org")
    client.form("/account/email", {"email": "squatter@example.org", "password": PASSWORD})
    client.form(link_in(mails_to("squatter@example.org")[0]))
    db.session.expire_all()
    subscription = db.session.scalar(select(Subscription))
    assert subscription.email == "victim@example.org" and subscription.user_id is None


def test_a_confirmed_account_sees_its_lists(client, login_as):
    informations = all_lists()[0]
    user = login_as(email="member@example.org")
    client.form("/account/lists", {"lists": informations.slug})
    page = client.get("/account").get_data(as_text=True)
    checkbox = f'name="lists" type="checkbox" value="{informations.slug}"'
    assert f"<input checked id=\"lists-0\" {checkbox}>" in page
    assert db.session.scalar(select(Subscription.user_id)) == user.id


def test_an_unconfirmed_account_deletes_itself_with_its_password(app, client, login_as):
    user_id = login_as(confirmed=False, email="typo@example.org").id
    page = client.get("/account").get_data(as_text=True)
    assert "Supprimer mon compte" in page
    wrong = client.form("/account/delete", {"password": "not my password"})
    assert wrong.status_code == 422 and "Mot de passe incorrect" in wrong.get_data(as_text=True)
    assert db.session.get(User, user_id) is not None
    response = client.form("/account/delete", {"password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert client.get("/account").status_code == 302  # logged out
    # The address is free again, for its real owner.
    client.form("/register", {"email": "typo@example.org", "name": "Real Owner",
                              "password": PASSWORD})
    assert db.session.scalar(select(User.name)) == "Real Owner"


def test_a_confirmed_account_cannot_use_the_unconfirmed_delete(client, login_as):
    user = login_as()
    assert "Supprimer mon compte" not in client.get("/account").get_data(as_text=True)
    response = client.form("/account/delete", {"password": PASSWORD})
    assert response.status_code == 403
    assert db.session.get(User, user.id) is not None


def test_a_confirmed_member_still_watches_and_says_affected(client, login_as):
    thread = make_thread(author=make_user())
    user = login_as()
    client.form(f"/threads/{thread.id}/affected")
    assert db.session.get(Affected, (thread.id, user.id)) is not None
    assert db.session.get(Watch, (thread.id, user.id)) is not None
