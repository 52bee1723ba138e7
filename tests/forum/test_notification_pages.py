"""The bell, /notifications and its read marks, the preferences on the account page, and the
mail they choose: the watch digest and the merge mail honour "site only" and "never";
mentions by mail come in one batch through the outbox and a real SMTP server."""

import re

from sqlalchemy import select

from board.extensions import db
from board.forum import services as forum
from board.forum import solutions
from board.forum.models import Post
from board.forum.notifications import MAIL_DELAY_SECONDS, Notification, unread_count
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user
from tests.forum import test_watching as watching
from tests.forum.test_watching import after_the_window, mails_to, text_of

# The watch tests' fixtures: the loopback SMTP server, the clock, the digest window.
_smtp_server, smtp_server = watching._smtp_server, watching.smtp_server
clock, digest_window = watching.clock, watching.digest_window


def bell(client) -> str | None:
    match = re.search(r'class="bell-count"[^>]*>([^<]+)<', client.get("/").get_data(as_text=True))
    return match.group(1) if match else None


def choose(client, **choices):
    """Save preferences on the account page as a member would (the others as shown)."""
    page = client.get("/account").get_data(as_text=True)
    assert 'id="notifications"' in page
    card = page[page.index('id="notifications"'):]
    data = {name: re.search(r'<option selected value="(\w+)"', options).group(1)
            for name, options in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>',
                                            card, re.S)}
    assert set(data) >= {"reply", "mention", "merged"}
    data.update(choices)
    response = client.form("/account/notifications", data)
    assert response.status_code == 302


# The bell and the list ----------------------------------------------------------------------

def test_a_mention_rings_the_bell_and_the_list_links_to_the_post(app, client):
    jean = make_user(name="Jean")
    thread = make_thread(title="Coupure DNS")
    client.login(jean.email)
    assert bell(client) is None
    writer = make_user(name="Zoé")
    post = forum.reply(thread, writer, "Tu as vu @Jean ?")
    assert bell(client) == "1"
    page = client.get("/notifications").get_data(as_text=True)
    assert f'href="/posts/{post.id}"' in page
    assert "Zoé vous a mentionné dans « Coupure DNS »" in page
    assert "Tu as vu @Jean ?" in page


def test_the_list_is_newest_first_and_paginated(app, client):
    member = make_user(name="Jean")
    thread = make_thread()
    writer = make_user()
    posts = [forum.reply(thread, writer, f"@Jean numéro {i}") for i in range(35)]
    client.login(member.email)
    first = client.get("/notifications").get_data(as_text=True)
    links = re.findall(r'class="notification-link" href="/posts/(\d+)"|href="/posts/(\d+)" '
                       r'class="notification-link"', first)
    ids = [int(a or b) for a, b in links]
    assert ids == [p.id for p in reversed(posts)][:30]
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert f'href="/posts/{posts[0].id}"' in second


def test_visiting_the_thread_marks_its_notifications_read(app, client):
    member = make_user(name="Jean")
    one, other = make_thread(), make_thread()
    writer = make_user()
    forum.reply(one, writer, "@Jean ici")
    forum.reply(other, writer, "@Jean là")
    client.login(member.email)
    assert bell(client) == "2"
    page = client.get(f"/threads/{one.id}/{one.slug}").get_data(as_text=True)
    assert re.search(r'class="bell-count"[^>]*>1<', page)  # this page's bell already counts it
    assert bell(client) == "1"


def test_mark_one_then_all_read(app, client):
    member = make_user(name="Jean")
    thread, writer = make_thread(), make_user()
    for i in range(3):
        forum.reply(thread, writer, f"@Jean {i}")
    client.login(member.email)
    rows = db.session.scalars(select(Notification).where(Notification.user_id == member.id)
                              .order_by(Notification.id)).all()
    assert client.post(f"/notifications/{rows[0].id}/read").status_code == 400  # no CSRF token
    assert client.form(f"/notifications/{rows[0].id}/read").status_code == 302
    assert bell(client) == "2"
    stranger = make_user()
    client.logout()
    client.login(stranger.email)
    client.form(f"/notifications/{rows[1].id}/read")  # not theirs: changes nothing
    client.logout()
    client.login(member.email)
    assert bell(client) == "2"
    assert client.form("/notifications/read").status_code == 302
    assert bell(client) is None
    assert "Marquer comme lu" not in client.get("/notifications").get_data(as_text=True)


def test_a_notification_of_what_was_moved_out_of_sight_is_neither_listed_nor_counted(app, client):
    member, moderator = make_user(name="Jean"), make_user(role="moderator")
    thread = make_thread(title="Bientôt secret")
    post = forum.reply(thread, make_user(), "@Jean regarde")
    hidden = forum.reply(make_thread(title="Message masqué"), make_user(), "@Jean aussi")
    assert unread_count(member) == 2
    forum.move(thread, make_board(visibility="staff"), moderator)
    forum.hide_post(hidden, moderator)
    client.login(member.email)
    assert bell(client) is None
    page = client.get("/notifications").get_data(as_text=True)
    assert "Bientôt secret" not in page and f"/posts/{post.id}" not in page
    assert "Message masqué" not in page


def test_the_list_costs_the_same_for_few_and_many_notifications(app, client):
    member = make_user(name="Jean")
    client.login(member.email)
    costs = []
    for count in (3, 40):
        writers = [make_user() for _ in range(count)]
        for writer in writers:
            forum.reply(make_thread(author=writer), writer, "@Jean regarde")
        client.get("/notifications")
        with count_queries() as statements:
            assert client.get("/notifications").status_code == 200
        costs.append(len(statements))
    # The member, the page of rows with their actors, threads and posts, its count, the bell.
    assert costs[0] == costs[1] <= 5, costs


def test_guests_have_no_bell_and_no_list(client):
    assert 'class="bell' not in client.get("/").get_data(as_text=True)
    assert client.get("/notifications").status_code == 302


def test_replies_in_a_watched_thread_are_told_in_the_site(app, client):
    author = make_user()
    thread = make_thread(author=author, title="Lenteurs")
    forum.reply(thread, make_user(name="Bob"), "Pareil ici")
    client.login(author.email)
    assert bell(client) == "1"
    assert "Bob a répondu dans « Lenteurs »" in client.get("/notifications").get_data(
        as_text=True)


# Preferences and mail -------------------------------------------------------------------------

def test_never_for_mentions_tells_nothing(app, client):
    member = make_user(name="Jean")
    client.login(member.email)
    choose(client, mention="none")
    forum.reply(make_thread(), make_user(), "@Jean ?")
    assert bell(client) is None
    assert db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "notification_mail")).all() == []


def test_a_choice_not_offered_is_refused(app, client, login_as):
    login_as()
    assert client.form("/account/notifications", {"mention": "pigeon"}).status_code == 400


def test_mentions_by_mail_come_in_one_batch(app, client, smtp_server, clock):
    member = make_user(name="Jean")
    client.login(member.email)
    choose(client, mention="mail")
    thread, writer = make_thread(title="Sauvegardes"), make_user(name="Zoé")
    first = forum.reply(thread, writer, "@Jean un")
    forum.reply(thread, writer, "@Jean deux")
    forum.reply(make_thread(title="Autre"), writer, "@Jean trois")
    assert bell(client) is None  # mail only
    assert "Zoé" not in client.get("/notifications").get_data(as_text=True)
    jobs = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "notification_mail")).all()
    assert [job.payload for job in jobs] == [{"user_id": member.id}]
    deliver_due()
    assert mails_to(smtp_server, member) == []  # it waits for the others
    clock.advance(seconds=MAIL_DELAY_SECONDS + 1)
    deliver_due()
    [mail] = mails_to(smtp_server, member)
    assert mail["Subject"] == "3 notifications de la communauté"
    text = text_of(mail)
    assert "Zoé vous a mentionné dans « Sauvegardes »" in text
    assert f"/posts/{first.id}" in text and "Autre" in text
    smtp_server.reset()
    forum.reply(thread, writer, "@Jean quatre")  # a new batch
    clock.advance(seconds=MAIL_DELAY_SECONDS + 1)
    deliver_due()
    [mail] = mails_to(smtp_server, member)
    assert mail["Subject"] == "1 notification de la communauté"


def test_a_mention_mailed_is_left_out_once_out_of_sight(app, client, smtp_server, clock):
    member, moderator = make_user(name="Jean"), make_user(role="moderator")
    client.login(member.email)
    choose(client, mention="both")
    post = forum.reply(make_thread(title="Sera masqué"), make_user(), "@Jean hé")
    forum.hide_post(post, moderator)
    clock.advance(seconds=MAIL_DELAY_SECONDS + 1)
    deliver_due()
    assert mails_to(smtp_server, member) == []


def test_the_watch_digest_honours_site_only(app, client, smtp_server, clock):
    author = make_user()
    thread = make_thread(author=author)
    client.login(author.email)
    choose(client, reply="site")
    forum.reply(thread, make_user(), "Une réponse")
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []
    assert bell(client) == "1"
    choose(client, reply="mail")  # from now on, by mail only, and what came before is not sent
    forum.reply(thread, make_user(), "Une autre")
    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    assert "Une autre" in text_of(mail) and "Une réponse" not in text_of(mail)
    assert bell(client) == "1"


def test_the_watch_digest_honours_never(app, client, smtp_server, clock):
    author = make_user()
    thread = make_thread(author=author)
    client.login(author.email)
    choose(client, reply="none")
    forum.reply(thread, make_user(), "Une réponse")
    after_the_window(clock)
    assert mails_to(smtp_server, author) == [] and bell(client) is None


def test_a_merged_report_tells_its_author_and_honours_never_for_its_mail(app, client,
                                                                         smtp_server):
    author, moderator = make_user(), make_user(role="moderator")
    source, target = make_thread(author=author), make_thread(title="Le vrai sujet")
    client.login(author.email)
    with site_context():
        forum.merge_duplicate(source, target, moderator)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Votre signalement a été fusionné dans « Le vrai sujet »" in page
    assert db.session.scalar(select(Post.id).where(Post.thread_id == target.id,
                                                   Post.official)) is not None
    deliver_due()
    assert len(mails_to(smtp_server, author)) == 1
    smtp_server.reset()
    other = make_thread(author=author)
    choose(client, merged="none")
    with site_context():
        forum.merge_duplicate(other, target, moderator)
    deliver_due()
    assert mails_to(smtp_server, author) == []


def test_the_demo_member_finds_a_quote_and_a_mention_waiting(app, client, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    client.login("membre1@exemple.org", "membre-demo-2026")
    assert bell(client) is not None
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("Karim B. vous a mentionné") == 1
    assert "Karim B. vous a cité" not in page  # quoted and named in one post: the mention


def test_a_solution_marked_by_staff_tells_the_reply_s_author_and_the_thread_s(app, client):
    alice, carl, moderator = make_user(name="Alice"), make_user(name="Carl"), make_user(
        role="moderator", name="Luc")
    board = make_board()
    board.solvable = True
    thread = make_thread(board=board, author=alice, title="Certificat expiré")
    right = forum.reply(thread, carl, "Supprimez l'enregistrement AAAA.")
    solutions.mark_solution(thread, right, moderator)
    client.login(carl.email)
    assert ("Luc a retenu votre réponse comme solution dans « Certificat expiré »"
            in client.get("/notifications").get_data(as_text=True))
    client.logout()
    client.login(alice.email)
    assert ("Luc a marqué la solution de votre sujet « Certificat expiré »"
            in client.get("/notifications").get_data(as_text=True))
