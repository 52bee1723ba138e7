"""The unwatch link in a digest mail names the thread only to someone who may still see it;
anyone can stop watching through it."""

import pytest

from board.accounts.services import make_token
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Watch
from tests.factories import make_board, make_thread, make_user

TITLE = "Fuite de données chez un client"


@pytest.fixture
def watched(app):
    member = make_user()
    thread = make_thread(board=make_board(), title=TITLE)
    forum.set_watching(thread, member, True)
    return thread, member, "/unwatch/" + make_token("unwatch", member.id, thread.id)


def moved_to_staff(thread):
    forum.move(thread, make_board(visibility="staff"), make_user(role="moderator"))


def hidden(thread):
    forum.hide_thread(thread, make_user(role="moderator"))


@pytest.mark.parametrize("change", [moved_to_staff, hidden], ids=["moved-to-staff", "hidden"])
def test_a_thread_they_may_no_longer_see_is_not_named(client, watched, change):
    thread, member, link = watched
    change(thread)
    page = client.get(link).get_data(as_text=True)
    assert TITLE not in page and thread.slug not in page
    assert "Ne plus recevoir d'e-mail pour les nouvelles réponses à ce sujet ?" in page
    done = client.form(link).get_data(as_text=True)
    assert TITLE not in done and "Vous ne recevrez plus d'e-mail pour ce sujet." in done
    db.session.expire_all()
    assert db.session.get(Watch, (thread.id, member.id)) is None


def test_a_thread_they_still_see_is_named(client, watched):
    thread, member, link = watched
    assert TITLE in client.get(link).get_data(as_text=True)
    assert TITLE in client.form(link).get_data(as_text=True)
