"""Merging a duplicate report into the thread that follows the problem: its members affected
move there, each counted once, and everyone is pointed there."""

import pytest
from sqlalchemy import func, select

from board.extensions import db
from board.forum import services as forum
from board.forum.models import Affected, Post, Thread, Watch
from board.outbox.models import OutboxMessage
from board.urls import site_context
from tests.concurrency import run_together
from tests.factories import make_board, make_thread, make_user
from tests.feedtools import read


def merge(source, target, actor):
    with site_context():  # as in a request: the note and the mail carry absolute links
        return forum.merge_duplicate(source, target, actor)


def affected_ids(thread) -> set[int]:
    return set(db.session.scalars(select(Affected.user_id).where(Affected.thread_id == thread.id)))


@pytest.fixture
def pair(app):
    board = make_board()
    paul, nadia = make_user(name="Paul"), make_user(name="Nadia")
    target = make_thread(board=board, author=paul, title="Erreur 503 sur web7")
    source = make_thread(board=board, author=nadia, title="Mon site affiche 503")
    both, only_source, only_target = make_user(), make_user(), make_user()
    for user in (both, only_target):
        forum.mark_affected(target, user)
    for user in (both, only_source, paul):  # the target's author said "me too" on the other
        forum.mark_affected(source, user)
    return {"source": source, "target": target, "paul": paul, "nadia": nadia, "both": both,
            "only_source": only_source, "only_target": only_target}


def test_each_member_is_counted_once_on_the_target(pair):
    source, target = pair["source"], pair["target"]
    gained = merge(source, target, make_user(role="moderator"))
    # Nadia (the duplicate's author) and only_source join; both and Paul were counted already.
    assert gained == 2
    assert affected_ids(target) == {pair[k].id for k in ("both", "only_source", "only_target",
                                                         "nadia")}
    target = db.session.get(Thread, target.id)
    assert target.affected_count == 1 + 4
    assert affected_ids(source) == set()
    source = db.session.get(Thread, source.id)
    assert source.duplicate_of_id == target.id and source.is_locked
    assert source.affected_count == 1


def test_watchers_follow_the_target_and_the_author_is_told(pair):
    source, target = pair["source"], pair["target"]
    merge(source, target, make_user(role="moderator"))
    watching = set(db.session.scalars(select(Watch.user_id).where(Watch.thread_id == target.id)))
    assert {pair["nadia"].id, pair["only_source"].id} <= watching
    mails = [m.payload for m in db.session.scalars(select(OutboxMessage)
                                                  .where(OutboxMessage.kind == "mail"))]
    told = [m for m in mails if m["to"] == pair["nadia"].email]
    assert len(told) == 1
    assert "Mon site affiche 503" in told[0]["subject"] and "/threads/" in told[0]["text"]
    assert "Erreur 503 sur web7" in told[0]["text"]


def test_the_target_says_so_in_its_page_and_its_feed(client, pair):
    source, target = pair["source"], pair["target"]
    merge(source, target, make_user(role="moderator"))
    note = db.session.scalars(select(Post).where(Post.thread_id == target.id)
                              .order_by(Post.id.desc())).first()
    assert note.official and "Mon site affiche 503" in note.body_source
    feed = read(client, f"/threads/{target.id}/feed", "atom")
    assert any("fusionné dans ce sujet" in entry.html for entry in feed.entries)
    page = client.get(f"/threads/{source.id}/{source.slug}").get_data(as_text=True)
    assert "Erreur 503 sur web7" in page and f"/threads/{target.id}/" in page


def test_a_merge_costs_the_same_queries_for_few_or_many_watchers(app):
    from tests.conftest import count_queries

    costs = []
    for watchers in (2, 20):
        board = make_board()
        target, source = make_thread(board=board), make_thread(board=board)
        for _ in range(watchers):
            forum.set_watching(source, make_user(), True)
        with count_queries() as statements:
            merge(source, target, make_user(role="moderator"))
        costs.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
        assert len(set(db.session.scalars(select(Watch.user_id).where(
            Watch.thread_id == target.id)))) >= watchers
    assert costs[0] == costs[1], costs


@pytest.mark.parametrize("case", ["self", "twice", "chain"])
def test_impossible_merges_are_refused(pair, case):
    source, target = pair["source"], pair["target"]
    moderator = make_user(role="moderator")
    if case == "self":
        with pytest.raises(forum.ForumError, match="merge-self"):
            merge(source, source, moderator)
        return
    merge(source, target, moderator)
    other = make_thread(title="Encore la 503")
    if case == "twice":
        with pytest.raises(forum.ForumError, match="merge-done"):
            merge(source, other, moderator)
    else:
        with pytest.raises(forum.ForumError, match="merge-chain"):
            merge(other, source, moderator)


def test_staff_merge_from_the_thread_page(client, pair, login_as):
    source, target = pair["source"], pair["target"]
    login_as("member")
    assert client.form(f"/threads/{source.id}/merge",
                       {"target": str(target.id)}).status_code == 403
    client.logout()
    login_as("moderator")
    page = client.get(f"/threads/{source.id}/{source.slug}").get_data(as_text=True)
    assert "Doublon de" in page
    response = client.form(f"/threads/{source.id}/merge",
                           {"target": f"https://board.test/threads/{target.id}/x"},
                           follow_redirects=True)
    assert "2 membres de plus" in response.get_data(as_text=True)
    assert db.session.get(Thread, source.id).duplicate_of_id == target.id
    log = client.get("/moderation").get_data(as_text=True)
    assert "comme doublon de" in log
    missing = client.form(f"/threads/{target.id}/merge", {"target": "999999"},
                          follow_redirects=True)
    assert "Aucun sujet" in missing.get_data(as_text=True)


def test_me_too_clicked_during_a_merge_is_never_lost(app, pair):
    """Members say "me too" on the duplicate while staff merge it: every one of them ends up
    counted on the target, once (real concurrent connections on PostgreSQL)."""
    source_id, target_id = pair["source"].id, pair["target"].id
    clickers = [make_user() for _ in range(8)]
    moderator = make_user(role="moderator")
    user_ids = [u.id for u in clickers]
    db.session.commit()

    def work(n):
        from board.accounts.models import User

        if n == 0:
            try:
                merge(db.session.get(Thread, source_id),
      db.session.get(Thread, target_id), db.session.get(User, moderator.id))
            finally:
                db.session.remove()
            return
        try:
            forum.mark_affected(db.session.get(Thread, source_id),
                                db.session.get(User, user_ids[n - 1]))
        finally:
            db.session.remove()

    run_together(app, len(clickers) + 1, work)
    db.session.expire_all()
    on_target = affected_ids(db.session.get(Thread, target_id))
    late = affected_ids(db.session.get(Thread, source_id))
    # A click after the merge lands on the (locked) duplicate: counted there, not lost.
    assert set(user_ids) <= on_target | late
    target = db.session.get(Thread, target_id)
    assert target.affected_count == 1 + db.session.scalar(
        select(func.count()).select_from(Affected).where(Affected.thread_id == target_id))


@pytest.mark.parametrize("typed, number", [
    ("123", 123), ("#123", 123), (" 123 ", 123), ("https://board.test/threads/45/titre", 45),
    ("http://board.test:8080/threads/7", 7), ("http://board.test:8080/", None),
    ("2147483648", None), ("abc", None), ("", None), ("0", None)])
def test_a_thread_is_named_by_its_number_or_its_address(typed, number):
    assert forum.thread_number(typed) == number
