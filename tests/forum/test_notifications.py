"""The notifications foundation: who `notify` tells, and who it never tells."""

import pytest

from board.extensions import db
from board.forum import services as forum
from board.forum.notifications import Notification, notify, unread_count
from tests.factories import make_board, make_thread, make_user


def test_a_member_is_told_once_per_kind_and_post(app):
    author, replier = make_user(), make_user()
    thread = make_thread(author=author)
    post = forum.reply(thread, replier, "Hello")  # the author watches: told of the reply
    assert notify(author, "reply", actor=replier, post=post) is None
    assert notify(author, "quote", actor=replier, post=post) is not None
    assert notify(author, "quote", actor=replier, post=post) is None
    db.session.commit()
    assert unread_count(author) == 2
    row = db.session.scalars(db.select(Notification).where(Notification.kind == "reply")).one()
    assert (row.thread_id, row.post_id, row.actor_id) == (thread.id, post.id, replier.id)


def test_nobody_is_told_of_their_own_action(app):
    member = make_user()
    thread = make_thread(author=member)
    assert notify(member, "mention", actor=member, thread=thread) is None


def test_nobody_is_told_of_what_they_may_not_see(app):
    moderator, member = make_user(role="moderator"), make_user()
    thread = make_thread(board=make_board(visibility="staff"), author=moderator)
    assert notify(member, "mention", actor=moderator, thread=thread) is None
    assert notify(make_user(role="admin"), "mention", actor=moderator, thread=thread)


def test_an_unknown_kind_is_refused(app):
    member = make_user()
    with pytest.raises(ValueError):
        notify(member, "gossip")


def test_a_profile_address_reads_well_and_finds_the_member_by_id(app):
    from board.forum.members import profile_path

    member = make_user(name="Élodie Martin")
    assert profile_path(member) == f"/members/{member.id}-elodie-martin"
