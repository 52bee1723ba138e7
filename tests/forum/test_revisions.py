"""Edit history: each edit keeps the text it replaces; "edited" on a post opens its versions
with what changed (escaped, marked with <ins> and <del>), for its author and staff, and for
everyone who sees the post when REVISIONS_PUBLIC is set; never for whoever may not see it."""

import re

import pytest
from sqlalchemy import select

from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post
from board.forum.revisions import Revision, changes
from board.visibility import GUEST, can_see_revisions
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user


def first_post(thread):
    return db.session.get(Post, thread.first_post_id)


def revisions_of(post):
    db.session.rollback()
    return db.session.scalars(select(Revision).where(Revision.post_id == post.id)
                              .order_by(Revision.id)).all()


def test_an_edit_keeps_the_text_it_replaces_with_who_and_when(app):
    author, moderator = make_user(name="Alice"), make_user(role="moderator", name="Modo")
    thread = make_thread(author=author, body="Version une")
    post = first_post(thread)
    forum.edit_post(post, author, "Version deux")
    forum.edit_post(post, moderator, "Version trois")
    first, second = revisions_of(post)
    assert (first.body_source, first.author_id, first.editor_id) == ("Version une", author.id,
                                                                     author.id)
    assert first.written_at == post.created_at
    assert (second.body_source, second.author_id, second.editor_id) == ("Version deux",
                                                                        author.id, moderator.id)
    assert abs(second.written_at - first.replaced_at).total_seconds() < 1
    assert post.body_source == "Version trois"


def test_an_edit_that_changes_nothing_keeps_nothing(app):
    author = make_user()
    thread = make_thread(author=author, title="Un titre", body="Pareil")
    forum.edit_post(first_post(thread), author, "Pareil", title="Un titre")
    assert revisions_of(first_post(thread)) == []


def test_the_revisions_page_shows_each_version_and_what_changed(client, login_as):
    author = login_as(name="Alice")
    thread = make_thread(author=author, title="Site lent", body="Mon site est lent.\n\nMerci")
    post = first_post(thread)
    forum.edit_post(post, author, "Mon site est très lent <b>ici</b>.\n\nMerci", title="Site lent")
    forum.edit_post(post, author, "Mon site est très lent <b>ici</b>.\n\nMerci d'avance",
                    title="Site très lent")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    link = re.search(r'<a class="meta edited" href="([^"]+)"', page).group(1)
    assert link == f"/posts/{post.id}/revisions"
    response = client.get(link)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    titles = re.findall(r'<h2 class="revision-head">(.*?)</h2>', html)
    assert titles == ["Version actuelle", "Version 2", "Version d’origine"]
    # Escaped everywhere: the source's HTML is text, never markup.
    assert "<b>ici</b>" not in html
    assert "<ins>très </ins>" in html
    assert "<ins> &lt;b&gt;ici&lt;/b&gt;</ins>" in html
    assert "<ins> d&#39;avance</ins>" in html
    assert "<del>Site lent</del> <ins>Site très lent</ins>" in html
    assert html.count("Par Alice") == 3


def test_pieces_of_a_change():
    assert changes("un deux trois", "un quatre trois") == [
        ("same", "un "), ("removed", "deux"), ("added", "quatre"), ("same", " trois")]
    assert changes("a\nb\n", "a\nb\nc\n") == [("same", "a\nb\n"), ("added", "c\n")]
    assert changes("pareil", "pareil") == [("same", "pareil")]
    # A long block changed is shown as removed, then added, without comparing word by word.
    old, new = "mot " * 1500, "autre " * 1500
    assert changes(old, new) == [("removed", old), ("added", new)]


def test_an_edit_made_before_history_was_kept_says_so(client, login_as):
    author = login_as()
    thread = make_thread(author=author)
    post = first_post(thread)
    forum.edit_post(post, author, "Nouveau texte")
    db.session.execute(Revision.__table__.delete())  # as if edited before this feature
    html = client.get(f"/posts/{post.id}/revisions").get_data(as_text=True)
    assert "n’ont pas laissé de trace" in html
    assert "Version d’origine" not in html


def test_the_page_costs_the_same_for_2_and_20_revisions(client, login_as):
    author = login_as()
    few, many = first_post(make_thread(author=author)), first_post(make_thread(author=author))
    editors = [make_user(role="moderator") for _ in range(4)]
    for n in range(2):
        forum.edit_post(few, editors[n], f"Texte {n}")
    for n in range(20):
        forum.edit_post(many, editors[n % 4], f"Texte {n}")
    client.get(f"/posts/{few.id}/revisions")
    with count_queries() as small:
        client.get(f"/posts/{few.id}/revisions")
    with count_queries() as big:
        client.get(f"/posts/{many.id}/revisions")
    assert len(small) == len(big)


# Who sees them ------------------------------------------------------------------------------

VIEWERS = ["guest", "member", "author", "moderator"]


@pytest.fixture
def edited(app):
    """An edited post in each place the rule distinguishes, and a viewer of each kind."""
    author, moderator = make_user(), make_user(role="moderator")
    posts = {}
    for place in ("public", "staff"):
        board = make_board(visibility=place)
        thread = make_thread(board=board, author=author, replies=2)
        shown, hidden = db.session.scalars(select(Post).where(Post.thread_id == thread.id)
                                           .order_by(Post.id)).all()[1:]
        for post in (shown, hidden):
            forum.edit_post(post, author, "Texte corrigé")
        forum.hide_post(hidden, moderator)
        posts[(place, "shown")], posts[(place, "hidden")] = shown, hidden
    viewers = {"guest": GUEST, "member": make_user(), "author": author, "moderator": moderator}
    return posts, viewers


# (viewer, place, state) that may read the revisions, without and with REVISIONS_PUBLIC.
PRIVATE = {("author", "public", "shown")} | {("moderator", p, s) for p in ("public", "staff")
                                             for s in ("shown", "hidden")}
PUBLIC = PRIVATE | {("guest", "public", "shown"), ("member", "public", "shown")}


@pytest.mark.parametrize("public", [False, True], ids=["private", "public"])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_who_reads_the_revisions(client, app, edited, viewer, public, monkeypatch):
    monkeypatch.setitem(app.config, "REVISIONS_PUBLIC", public)
    posts, viewers = edited
    who = viewers[viewer]
    if viewer != "guest":
        assert client.login(who.email).status_code == 302
    allowed = PUBLIC if public else PRIVATE
    for (place, state), post in posts.items():
        expected = (viewer, place, state) in allowed
        assert can_see_revisions(who, post) == expected
        response = client.get(f"/posts/{post.id}/revisions")
        assert (response.status_code == 200) == expected, (place, state)
        html = response.get_data(as_text=True)
        # The earlier text ("Reply 1") and the change never reach whoever may not read them.
        assert ("Reply" in html) == expected
        assert ("<ins>Texte corrigé</ins>" in html) == expected
        # And the post's "edited" links to them only when they may follow it.
        page = client.get(f"/threads/{post.thread_id}", follow_redirects=True).get_data(
            as_text=True)
        assert (f'href="/posts/{post.id}/revisions"' in page) == expected


def test_a_post_seen_but_history_kept_private_answers_403(client, edited):
    posts, viewers = edited
    client.login(viewers["member"].email)
    assert client.get(f"/posts/{posts[('public', 'shown')].id}/revisions").status_code == 403
    assert client.get(f"/posts/{posts[('staff', 'shown')].id}/revisions").status_code == 404
