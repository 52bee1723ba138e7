"""Flags: members flag a post once, with a reason; enough of them hide it until staff decide
from /moderation/queue (hide, keep, warn the author); every decision is in the audit log."""

import pytest
from sqlalchemy import func, select

from board.audit import AuditLog
from board.extensions import db
from board.forum import flags
from board.forum import services as forum
from board.forum.flags import Flag
from board.forum.models import Board, Post, Thread
from board.outbox.services import deliver_due
from tests.factories import make_board, make_thread, make_user
from tests.outbox import conftest as outbox_fixtures

_smtp_server = outbox_fixtures._smtp_server
smtp_server = outbox_fixtures.smtp_server


def text(response) -> str:
    return response.get_data(as_text=True)


def a_reply(body="Achetez des montres pas chères", author=None, thread=None):
    thread = thread or make_thread(title="Question sur PHP")
    return forum.reply(thread, author or make_user(), body)


def open_flags(post_id) -> int:
    return db.session.scalar(select(func.count(Flag.id)).where(
        Flag.post_id == post_id, Flag.resolved_at.is_(None)))


def test_a_member_flags_a_post_with_a_reason_once(client, login_as):
    post = a_reply()
    login_as("member")
    thread_page = text(client.get(f"/posts/{post.id}", follow_redirects=True))
    assert f'href="/posts/{post.id}/flag"' in thread_page
    form = text(client.get(f"/posts/{post.id}/flag"))
    assert "Spam ou publicité" in form and "Hors sujet" in form
    response = client.form(f"/posts/{post.id}/flag", {"reason": "spam"})
    assert response.status_code == 302
    assert "le message est signalé" in text(client.get(response.headers["Location"],
                                                       follow_redirects=True))
    again = client.form(f"/posts/{post.id}/flag", {"reason": "abuse"})
    assert again.status_code == 422 and "déjà signalé ce message" in text(again)
    assert open_flags(post.id) == 1


def test_bad_flags_get_a_clear_message_and_change_nothing(client, login_as):
    post = a_reply()
    member = login_as("member")
    for data, message in [({}, "Veuillez choisir une raison."),
                          ({"reason": "nonsense"}, "Not a valid choice"),
                          ({"reason": "other", "note": "  "}, "Dites en quelques mots"),
                          ({"reason": "other", "note": "x" * 501}, "500 caractères au plus")]:
        response = client.form(f"/posts/{post.id}/flag", data)
        assert response.status_code == 422, data
        assert message in text(response) or "choix" in text(response), data
    own = forum.reply(post.thread, member, "Mon message")
    response = client.form(f"/posts/{own.id}/flag", {"reason": "spam"})
    assert response.status_code == 422 and "votre propre message" in text(response)
    assert f'href="/posts/{own.id}/flag"' not in text(
        client.get(f"/posts/{own.id}", follow_redirects=True))
    assert db.session.scalar(select(func.count(Flag.id))) == 0
    assert client.post(f"/posts/{post.id}/flag", data={"reason": "spam"}).status_code == 400


def test_a_flag_with_another_reason_keeps_its_note(client, login_as):
    post = a_reply()
    login_as("member")
    client.form(f"/posts/{post.id}/flag", {"reason": "other", "note": "Lien douteux"})
    flag = db.session.scalar(select(Flag))
    assert (flag.reason, flag.note) == ("other", "Lien douteux")


def test_guests_cannot_flag_and_see_no_flag_link(client):
    post = a_reply()
    assert "/flag" not in text(client.get(f"/posts/{post.id}", follow_redirects=True))
    response = client.form(f"/posts/{post.id}/flag", {"reason": "spam"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count(Flag.id))) == 0


@pytest.mark.parametrize("where", ["hidden post", "staff board", "hidden thread"])
def test_a_flag_on_a_post_one_cannot_see_is_404(client, login_as, where):
    moderator = make_user(role="moderator")
    if where == "staff board":
        post = a_reply(thread=make_thread(board=make_board(visibility="staff")))
    else:
        post = a_reply()
    if where == "hidden post":
        forum.hide_post(post, moderator)
    elif where == "hidden thread":
        forum.hide_thread(post.thread, moderator)
    login_as("member")
    assert client.get(f"/posts/{post.id}/flag").status_code == 404
    assert client.form(f"/posts/{post.id}/flag", {"reason": "spam"}).status_code == 404
    assert client.get(f"/posts/{post.id + 1000}/flag").status_code == 404
    assert db.session.scalar(select(func.count(Flag.id))) == 0


def test_enough_flags_hide_the_post_until_staff_decide(app, client, login_as):
    assert app.config["FLAG_HIDE_THRESHOLD"] == 3
    post = a_reply()
    thread_id, board_id = post.thread_id, post.thread.board_id
    members = [make_user() for _ in range(3)]
    assert flags.flag_post(post, members[0], "spam") is False
    assert flags.flag_post(post, members[1], "abuse") is False
    assert client.get(f"/posts/{post.id}").status_code == 302  # still seen by a guest
    assert flags.flag_post(db.session.get(Post, post.id), members[2], "spam") is True
    db.session.expire_all()
    assert client.get(f"/posts/{post.id}").status_code == 404
    thread = db.session.get(Thread, thread_id)
    assert thread.post_count == 1 and db.session.get(Board, board_id).post_count == 1
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "flag.auto_hide"))
    assert entry.actor_id is None and entry.target_id == post.id and entry.details["flags"] == 3
    # Staff see it, marked as hidden by its flags, in the thread and in the queue.
    login_as("moderator")
    page = text(client.get(f"/threads/{thread_id}/{thread.slug}"))
    assert "Masqué par les signalements" in page
    queue = text(client.get("/moderation/queue"))
    assert "Masqué par les signalements" in queue and "Spam ou publicité × 2" in queue
    assert "Abusif ou offensant × 1" in queue and "3 signalements" in queue


def test_a_first_post_hidden_by_flags_hides_its_thread(client):
    thread = make_thread(title="Sujet publicitaire")
    first = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    for member in [make_user() for _ in range(3)]:
        flags.flag_post(db.session.get(Post, first.id), member, "spam")
    assert client.get(f"/threads/{thread.id}").status_code == 404


def test_staff_hide_a_flagged_post_from_the_queue(client, login_as):
    post = a_reply()
    flags.flag_post(post, make_user(), "spam")
    moderator = login_as("moderator")
    response = client.form(f"/moderation/queue/{post.id}/hide")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/moderation/queue")
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert post.hidden_by_id == moderator.id and open_flags(post.id) == 0
    assert db.session.scalar(select(Flag.resolution)) == "hidden"
    assert "Aucun message signalé n’attend." in text(client.get("/moderation/queue"))
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions == ["flag.hide"]
    assert "a retenu les signalements" in text(client.get("/moderation"))


def test_keeping_a_post_hidden_by_flags_shows_it_again(client, login_as):
    post = a_reply()
    flaggers = [make_user() for _ in range(3)]
    for member in flaggers:
        flags.flag_post(db.session.get(Post, post.id), member, "spam")
    login_as("moderator")
    assert client.form(f"/moderation/queue/{post.id}/keep").status_code == 302
    client.logout()
    db.session.expire_all()
    assert client.get(f"/posts/{post.id}").status_code == 302
    assert db.session.get(Thread, post.thread_id).post_count == 2
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "flag.keep"))
    assert entry.details == {"thread": post.thread_id, "flags": 3, "shown_again": True}
    assert set(db.session.scalars(select(Flag.resolution))) == {"kept"}
    # Once per post: those members may not flag it again.
    with pytest.raises(flags.FlagError, match="again"):
        flags.flag_post(db.session.get(Post, post.id), flaggers[0], "spam")


def test_warning_the_author_mails_them_through_the_outbox(client, login_as, smtp_server):
    author = make_user(name="Auteur Averti", email="auteur@example.org", locale="fr")
    post = a_reply(author=author, body="Un message limite")
    flags.flag_post(post, make_user(), "abuse")
    login_as("moderator")
    response = client.form(f"/moderation/queue/{post.id}/warn",
                           {"message": "Merci de rester courtois."})
    assert response.status_code == 302
    assert smtp_server.messages == []  # nothing leaves from inside the request
    deliver_due()
    [mail] = smtp_server.messages
    assert mail["To"].addresses[0].addr_spec == "auteur@example.org"
    assert "Question sur PHP" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "Merci de rester courtois." in body and "Un message limite" in body
    assert f"http://board.test/posts/{post.id}" in body
    assert open_flags(post.id) == 1  # still waiting for the decision
    assert "Auteur averti" in text(client.get("/moderation/queue"))
    assert db.session.scalar(select(AuditLog.action)) == "flag.warn"
    empty = client.form(f"/moderation/queue/{post.id}/warn", {"message": ""})
    assert empty.status_code == 302
    assert "Veuillez écrire un message." in text(client.get("/moderation/queue"))


def test_a_post_staff_showed_again_is_not_hidden_again_by_one_more_flag(client, login_as):
    post = a_reply()
    for member in [make_user() for _ in range(3)]:
        flags.flag_post(db.session.get(Post, post.id), member, "spam")
    forum.unhide_post(db.session.get(Post, post.id), make_user(role="moderator"))
    assert flags.flag_post(db.session.get(Post, post.id), make_user(), "spam") is False
    assert client.get(f"/posts/{post.id}").status_code == 302
    assert open_flags(post.id) == 4  # still in the queue, for a decision


@pytest.mark.parametrize("path", ["/moderation/queue", "/moderation/queue/1/hide",
                                  "/moderation/queue/1/keep", "/moderation/queue/1/warn"])
def test_only_staff_reach_the_queue(client, login_as, path):
    post = a_reply()
    flags.flag_post(post, make_user(), "spam")
    path = path.replace("/1/", f"/{post.id}/")
    send = client.get if path.endswith("queue") else client.form
    assert send(path).status_code == 302  # guests: to the login page
    login_as("member")
    assert send(path).status_code == 403
    assert open_flags(post.id) == 1


def test_the_staff_bar_counts_the_posts_waiting(client, login_as):
    posts = [a_reply(), a_reply()]
    for post in posts:
        flags.flag_post(post, make_user(), "spam")
    flags.flag_post(posts[0], make_user(), "abuse")
    login_as("member")
    assert "/moderation/queue" not in text(client.get("/"))
    client.logout()
    login_as("moderator")
    home = text(client.get("/"))
    assert 'href="/moderation/queue"' in home
    assert 'aria-label="2 messages en attente">2</span>' in home


def test_the_queue_groups_by_post_newest_first_and_pages(client, login_as, monkeypatch):
    from board.forum import flag_views

    monkeypatch.setattr(flag_views, "QUEUE_PAGE", 2)
    posts = [a_reply(body=f"Message numéro {n}") for n in range(3)]
    for post in posts:
        flags.flag_post(post, make_user(), "spam")
    flags.flag_post(posts[0], make_user(), "off_topic")  # now the most recently flagged
    login_as("moderator")
    first = text(client.get("/moderation/queue"))
    assert first.index("Message numéro 0") < first.index("Message numéro 2")
    assert "Message numéro 1" not in first and "?page=2" in first
    assert "Message numéro 1" in text(client.get("/moderation/queue?page=2"))
    assert first.count('class="card flag-item"') == 2


def test_the_queue_costs_the_same_queries_for_more_flags(client, login_as):
    from tests.conftest import count_queries

    login_as("moderator")
    for _ in range(2):
        flags.flag_post(a_reply(), make_user(), "spam")
    client.get("/moderation/queue")
    with count_queries() as few:
        client.get("/moderation/queue")
    for _ in range(6):
        post = a_reply(thread=make_thread(board=make_board()))
        for member in [make_user(), make_user()]:
            flags.flag_post(db.session.get(Post, post.id), member, "other", "Bizarre")
    with count_queries() as many:
        client.get("/moderation/queue")
    assert len(many) == len(few)


def test_flagging_is_rate_limited(client, login_as):
    login_as("member")
    codes = [client.form(f"/posts/{a_reply().id}/flag", {"reason": "spam"}).status_code
             for _ in range(4)]
    assert codes == [302, 302, 302, 429]
