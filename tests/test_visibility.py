"""One visibility rule: board/visibility.py's filters and predicates agree for every kind of
content and every viewer, and every surface (pages, feeds, the API, the export, mail) uses
them: hidden and staff-only content is planted, then looked for everywhere."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from board import visibility
from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board, Post, Thread
from board.lists.models import ListMessage, MailingList
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux.export import export
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, make_incident

VIEWERS = ["guest", "member", "author", "moderator", "admin"]


@pytest.fixture
def planted(app):
    """Every case the rule distinguishes, with its author, and a viewer of each kind."""
    author = make_user(name="Auteur")
    moderator = make_user(role="moderator")
    public, staff = make_board(slug="public-board"), make_board(visibility="staff",
                                                                slug="staff-board")
    threads = {}
    for board in (public, staff):
        for state in ("shown", "hidden"):
            thread = make_thread(board=board, author=author, replies=2,
                                 title=f"Sujet {board.slug} {state}")
            threads[(board.slug, state)] = thread
    for thread in threads.values():
        # One hidden reply in every thread; then the hidden threads are hidden.
        reply = db.session.scalars(select(Post).where(Post.thread_id == thread.id)
                                   .order_by(Post.id.desc())).first()
        forum.hide_post(reply, moderator)
    for (_slug, state), thread in threads.items():
        if state == "hidden":
            forum.hide_thread(thread, moderator)
    mailing_list = db.session.scalar(select(MailingList))
    for status in ("held", "approved", "rejected", "sent"):
        db.session.add(ListMessage(list=mailing_list, subject=f"Message {status}",
                                   body_source=status, body_html=f"<p>{status}</p>",
                                   status=status))
    db.session.commit()
    viewers = {"guest": visibility.GUEST, "member": make_user(), "author": author,
               "moderator": moderator, "admin": make_user(role="admin")}
    return viewers


KINDS = {
    "boards": (Board, visibility.visible_boards, visibility.can_see_board),
    "threads": (Thread, visibility.visible_threads, visibility.can_see_thread),
    "posts": (Post, visibility.visible_posts, visibility.can_see_post),
    "list messages": (ListMessage, visibility.visible_list_messages,
                      visibility.can_see_list_message),
}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("kind", KINDS)
def test_the_filter_and_the_predicate_agree(planted, kind, viewer):
    model, visible, can_see = KINDS[kind]
    who = planted[viewer]
    everything = db.session.scalars(select(model)).all()
    by_filter = set(db.session.scalars(visible(select(model), who)).unique().all())
    by_predicate = {row for row in everything if can_see(who, row)}
    assert by_filter == by_predicate
    # And the rule itself: staff see all the forum; the others strictly less. The list
    # archive is the same for everybody: sent messages only.
    if kind == "list messages":
        assert {m.status for m in by_filter} == {"sent"}
    elif viewer in ("moderator", "admin"):
        assert by_filter == set(everything)
    else:
        assert by_filter < set(everything)


@pytest.mark.parametrize("viewer", ["guest", "member", "author"])
def test_what_non_staff_see_of_each_case(planted, viewer):
    who = planted[viewer]
    titles = {t.title for t in db.session.scalars(visibility.visible_threads(select(Thread), who))}
    assert titles == {"Sujet public-board shown"}
    posts = db.session.scalars(visibility.visible_posts(select(Post), who)).all()
    # The first post and the shown reply of the one visible thread; never a hidden reply,
    # not even to its own author.
    assert len(posts) == 2 and {p.thread.title for p in posts} == {"Sujet public-board shown"}
    subjects = {m.subject for m in db.session.scalars(
        visibility.visible_list_messages(select(ListMessage), who))}
    assert subjects == {"Message sent"}


def test_every_visitor_who_is_not_logged_in_is_the_one_guest(client, app):
    from flask_login import current_user

    with app.test_request_context("/"):
        assert current_user._get_current_object() is visibility.GUEST


# Every surface uses the rule -----------------------------------------------------------------

SECRET = "SECRETSTAFF"
HIDDEN = "HIDDENTHREAD"
HIDDEN_REPLY = "HIDDENREPLY"


@pytest.fixture
def secrets(app):
    """A staff-only thread, a hidden thread and a hidden reply, all linked to one incident,
    beside a public thread that every surface must show."""
    admin = make_user(role="admin")
    moderator = make_user(role="moderator")
    public_board = make_board(slug="hebergement")
    staff_board = make_board(visibility="staff", slug="equipe")
    shown = make_thread(board=public_board, title="Sujet public visible", body="Texte public")
    staff = make_thread(board=staff_board, title=f"Suivi {SECRET}", body=f"Texte {SECRET}")
    hidden = make_thread(board=public_board, title=f"Sujet {HIDDEN}", body=f"Texte {HIDDEN}")
    forum.hide_thread(hidden, moderator)
    reply = forum.reply(shown, admin, f"Réponse {HIDDEN_REPLY}")
    forum.hide_post(reply, moderator)
    incident = make_incident(admin, title="Panne du serveur web7")
    for thread in (shown, staff, hidden):
        link_thread(incident, thread, admin)
    return {"incident": incident, "shown": shown, "staff": staff, "hidden": hidden,
            "public_board": public_board, "staff_board": staff_board, "reply": reply}


def assert_clean(text: str, where: str) -> None:
    for marker in (SECRET, HIDDEN, HIDDEN_REPLY):
        assert marker not in text, f"{marker} leaks through {where}"


def surfaces(s) -> list[str]:
    incident, shown = s["incident"], s["shown"]
    board = s["public_board"].slug
    return ["/", f"/boards/{board}", f"/threads/{shown.id}/{shown.slug}", "/feed.rss",
            "/feed.atom", f"/boards/{board}/feed.rss", f"/threads/{shown.id}/feed.atom",
            "/travaux/", f"/travaux/incidents/{incident.id}", "/travaux/feed.rss",
            f"/travaux/incidents/{incident.id}/feed.rss", "/api/v1/status", "/travaux/embed",
            f"/travaux/incidents/{incident.id}/box", "/feeds", "/feeds.opml"]


@pytest.mark.parametrize("role", ["guest", "member"])
def test_no_page_feed_or_api_answer_shows_staff_or_hidden_content(client, login_as, secrets,
                                                                  role):
    if role == "member":
        login_as("member")
    for path in surfaces(secrets):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_clean(response.get_data(as_text=True), path)
    # ... while the public thread is there, so the surfaces were really looked at.
    assert "Sujet public visible" in client.get("/feed.rss").get_data(as_text=True)
    document = client.get("/api/v1/status").get_json()
    discussion = secrets["incident"].source_thread
    assert document["ongoing"][0]["threads"] == [
        f"http://board.test/threads/{t.id}/{t.slug}" for t in (secrets["shown"], discussion)]
    incident_page = client.get(f"/travaux/incidents/{secrets['incident'].id}")
    assert "Sujet public visible" in incident_page.get_data(as_text=True)
    for thread in (secrets["staff"], secrets["hidden"]):
        assert client.get(f"/threads/{thread.id}").status_code == 404
        assert client.get(f"/threads/{thread.id}/feed.rss").status_code == 404
    assert client.get(f"/posts/{secrets['reply'].id}").status_code == 404
    assert client.get(f"/boards/{secrets['staff_board'].slug}").status_code == 404
    assert client.get(f"/boards/{secrets['staff_board'].slug}/feed.rss").status_code == 404


def test_staff_see_what_they_may_see_on_the_same_surfaces(client, login_as, secrets):
    login_as("moderator")
    page = client.get(f"/travaux/incidents/{secrets['incident'].id}").get_data(as_text=True)
    assert SECRET in page and HIDDEN in page
    thread = client.get(f"/threads/{secrets['shown'].id}/{secrets['shown'].slug}")
    assert HIDDEN_REPLY in thread.get_data(as_text=True)
    # Feeds are built as the guest sees the site, whoever asks.
    assert_clean(client.get("/feed.rss").get_data(as_text=True), "/feed.rss as staff")
    assert_clean(client.get("/travaux/feed.rss").get_data(as_text=True), "Travaux feed as staff")


def test_the_static_export_shows_what_a_guest_sees(app, secrets, tmp_path):
    export(tmp_path / "site")
    site = tmp_path / "site"
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".rss", ".atom", ".json"):
            assert_clean(path.read_text(encoding="utf-8"), str(path.relative_to(site)))
    document = json.loads((site / "status.json").read_text(encoding="utf-8"))
    assert len(document["ongoing"][0]["threads"]) == 2  # the discussion and the public one


def test_a_watch_digest_never_carries_what_its_reader_may_not_see(app, secrets):
    watcher = make_user()
    shown = secrets["shown"]
    with site_context():
        forum.set_watching(shown, watcher, True)
        forum.set_watching(secrets["hidden"], watcher, True)
    admin = make_user(role="admin")
    moderator = make_user(role="moderator")
    visible_reply = forum.reply(shown, admin, "Une réponse visible")
    hidden_reply = forum.reply(shown, admin, f"Une autre {HIDDEN_REPLY}")
    forum.hide_post(hidden_reply, moderator)
    with site_context():
        forum.reply(secrets["hidden"], admin, f"Dans le sujet {HIDDEN}")
    with travel(timedelta(hours=1)):
        deliver_due()
    mails = [m.payload for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "mail")) if m.payload["to"] == watcher.email]
    assert len(mails) == 1
    assert "Une réponse visible" in mails[0]["text"] and visible_reply.id
    assert_clean(mails[0]["text"] + mails[0]["html"], "the watch digest")


def test_the_list_archive_and_its_feed_show_sent_messages_only(client, login_as, planted):
    login_as("admin")  # even an admin reads the archive as it is published
    archive = client.get("/lists/informations/").get_data(as_text=True)
    feed = client.get("/lists/informations/feed.rss").get_data(as_text=True)
    for text in (archive, feed):
        assert "Message sent" in text
        for status in ("held", "approved", "rejected"):
            assert f"Message {status}" not in text
