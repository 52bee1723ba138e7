"""Watching a thread: new replies by others reach the watcher as one digest mail per batch
(WATCH_DIGEST_SECONDS), through the outbox and a real SMTP server on loopback; the clock is
moved forward instead of waiting."""

import re
import threading
from datetime import timedelta

import pytest
from flask_babel import force_locale, ngettext
from sqlalchemy import select

from board.accounts.models import User
from board.accounts.services import make_token
from board.clock import now
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Thread, Watch
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.outbox import conftest as outbox_fixtures

BASE = "http://board.test"
DIGEST = 600
# The outbox tests' fixtures: a real SMTP server on loopback, and a clock to move forward.
_smtp_server = outbox_fixtures._smtp_server
smtp_server = outbox_fixtures.smtp_server
clock = outbox_fixtures.clock


@pytest.fixture(autouse=True)
def digest_window(app, monkeypatch):
    monkeypatch.setitem(app.config, "WATCH_DIGEST_SECONDS", DIGEST)


# Helpers ------------------------------------------------------------------------------------

def digest_jobs(user=None) -> list[OutboxMessage]:
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "watch_digest")
                              .order_by(OutboxMessage.id)).all()
    return [row for row in rows if user is None or row.payload["user_id"] == user.id]


def watching(thread, user) -> bool:
    db.session.expire_all()
    return db.session.get(Watch, (thread.id, user.id)) is not None


def mails_to(smtp_server, user) -> list:
    return [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == user.email]


def text_of(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def after_the_window(clock) -> dict:
    """Move past the digest window and run the worker."""
    clock.advance(seconds=DIGEST + 1)
    return deliver_due()


def path(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url[len(BASE):]


@pytest.fixture
def people(app):
    """A thread opened by `author` (who watches it) on a public board; two other members."""
    author, bea, carl = (make_user(name=name) for name in ("Alice", "Béa", "Carl"))
    thread = make_thread(board=make_board(), author=author, title="Panne de messagerie")
    return thread, author, bea, carl


# One digest per batch -----------------------------------------------------------------------

def test_three_replies_make_one_digest_with_links_that_work(client, smtp_server, clock, people):
    thread, author, bea, carl = people
    assert watching(thread, author)

    first = forum.reply(thread, bea, "Chez moi aussi, depuis ce matin.")
    forum.reply(thread, carl, "Pareil à Lyon.")
    forum.reply(thread, bea, "Ça revient doucement.")

    [job] = digest_jobs(author)
    assert job.payload == {"thread_id": thread.id, "user_id": author.id}
    assert now() + timedelta(seconds=DIGEST - 5) < job.due_at <= now() + timedelta(seconds=DIGEST)
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}  # nothing before the window
    assert smtp_server.received == []

    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    with force_locale("fr"):
        assert mail["Subject"] == ngettext("%(num)d new reply in “%(title)s”",
                                           "%(num)d new replies in “%(title)s”", 3,
                                           title="Panne de messagerie")
    text = text_of(mail)
    for body in ("Chez moi aussi, depuis ce matin.", "Pareil à Lyon.", "Ça revient doucement."):
        assert body in text
        assert body in mail.get_body(("html",)).get_content()
    assert "Béa" in text and "Carl" in text
    assert "First post" not in text  # what they knew already is not repeated

    # "Read them" opens the thread at the first new reply.
    assert f"{BASE}/posts/{first.id}" in text
    response = client.get(f"/posts/{first.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/threads/{thread.id}/{thread.slug}"
                                                  f"#post-{first.id}")

    # The unwatch link: GET shows a button (a link scanner stops nobody), POST stops.
    [unwatch] = re.findall(rf"{re.escape(BASE)}/unwatch/\S+", text)
    assert unwatch in mail.get_body(("html",)).get_content()
    page = client.get(path(unwatch))
    assert page.status_code == 200 and b"<form method=\"post\"" in page.data
    assert watching(thread, author)
    assert client.form(path(unwatch)).status_code == 200
    assert not watching(thread, author)

    smtp_server.reset()
    forum.reply(thread, carl, "Encore une réponse.")
    assert digest_jobs(author) == [job]  # no new one
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []


def test_nobody_hears_of_their_own_replies(smtp_server, clock, people):
    thread, author, bea, carl = people
    forum.reply(thread, author, "Je précise : c'est en IMAP.")
    assert digest_jobs() == []  # the only watcher wrote it

    forum.reply(thread, bea, "Moi aussi, en IMAP.")  # Béa watches from now on
    forum.reply(thread, carl, "Et en POP ?")
    forum.reply(thread, bea, "Pas essayé.")
    assert len(digest_jobs(author)) == len(digest_jobs(bea)) == len(digest_jobs(carl)) == 1

    after_the_window(clock)
    [to_author] = mails_to(smtp_server, author)
    assert "Je précise" not in text_of(to_author)
    for body in ("Moi aussi, en IMAP.", "Et en POP ?", "Pas essayé."):
        assert body in text_of(to_author)
    [to_bea] = mails_to(smtp_server, bea)
    assert "Et en POP ?" in text_of(to_bea)
    assert "Moi aussi" not in text_of(to_bea) and "Pas essayé" not in text_of(to_bea)
    [to_carl] = mails_to(smtp_server, carl)
    assert "Pas essayé." in text_of(to_carl)
    assert "Et en POP" not in text_of(to_carl) and "Moi aussi" not in text_of(to_carl)
    assert len(smtp_server.received) == 3


def test_a_reply_after_the_digest_starts_a_new_batch(smtp_server, clock, people):
    thread, author, bea, carl = people
    forum.reply(thread, bea, "Première vague.")
    after_the_window(clock)
    assert [text_of(m).count("Première vague.") for m in mails_to(smtp_server, author)] == [1]

    smtp_server.reset()
    forum.reply(thread, carl, "Deuxième vague.")
    forum.reply(thread, carl, "Deuxième vague, suite.")
    assert len(digest_jobs(author)) == 2
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    assert "Deuxième vague." in text_of(mail) and "Deuxième vague, suite." in text_of(mail)
    assert "Première vague." not in text_of(mail)

    # Nothing new, nothing sent, however long one waits.
    smtp_server.reset()
    clock.advance(days=2)
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp_server.received == []


def test_a_reply_during_the_digest_s_transaction_is_not_lost(app, smtp_server, clock, people):
    """The worker is building A's digest (handler run, transaction not yet committed) when Carl
    replies, in a request of his own. His reply is not in that digest (it came after), so A must
    get it in the next one, without waiting for yet another reply."""
    thread, author, bea, carl = people
    forum.reply(thread, bea, "Avant l'envoi.")
    [job] = digest_jobs(author)
    clock.advance(seconds=DIGEST + 1)

    # The worker's transaction, in the test's session: the job claimed, its handler run.
    with site_context():
        forum.send_digest(job.payload)
    db.session.flush()

    errors = []

    def carl_replies():  # in another thread, with a session (and connection) of its own
        try:
            with app.app_context(), site_context():
                forum.reply(db.session.get(Thread, thread.id), db.session.get(User, carl.id),
                            "Pendant l'envoi.")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    request = threading.Thread(target=carl_replies)
    request.start()
    request.join(timeout=0.5)  # done, or waiting for a lock the worker holds (SQLite, locking)
    job.sent_at, job.attempts = now(), 1  # as deliver_due() does
    db.session.commit()  # the worker commits
    request.join(timeout=10)
    assert not request.is_alive() and errors == [], errors

    deliver_due()
    after_the_window(clock)
    texts = [text_of(m) for m in mails_to(smtp_server, author)]
    told = [[body for body in ("Avant l'envoi.", "Pendant l'envoi.") if body in text]
            for text in texts]
    assert told == [["Avant l'envoi."], ["Pendant l'envoi."]], told


# Who watches -------------------------------------------------------------------------------

def test_opening_replying_or_being_affected_makes_one_watch(client, login_as, people):
    thread, author, bea, _ = people
    assert watching(thread, author)
    forum.reply(thread, bea, "Moi aussi.")
    assert watching(thread, bea)
    member = login_as("member")
    assert not watching(thread, member)
    assert client.form(f"/threads/{thread.id}/affected").status_code == 302
    assert watching(thread, member)
    forum.reply(thread, author, "Merci à vous.")
    assert len(digest_jobs(bea)) == len(digest_jobs(member)) == 1
    # Watching twice is watching once (replying after saying "affected" adds nothing).
    forum.reply(thread, member, "Toujours en panne.")
    assert len(db.session.scalars(select(Watch).where(Watch.thread_id == thread.id)).all()) == 3


def test_watching_by_hand_hears_only_of_later_replies(client, login_as, smtp_server, clock,
                                                      people):
    thread, author, bea, _ = people
    forum.reply(thread, bea, "Avant.")
    member = login_as("member")
    assert client.form(f"/threads/{thread.id}/watch", {"watch": "1"}).status_code == 302
    assert watching(thread, member)
    forum.reply(thread, bea, "Après.")
    after_the_window(clock)
    [mail] = mails_to(smtp_server, member)
    assert "Après." in text_of(mail) and "Avant." not in text_of(mail)


def test_guests_cannot_watch(client, people):
    thread = people[0]
    response = client.form(f"/threads/{thread.id}/watch", {"watch": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# Stopping -----------------------------------------------------------------------------------

def test_unwatching_on_the_thread_page_stops_a_waiting_digest(client, smtp_server, clock,
                                                               people):
    thread, author, bea, _ = people
    forum.reply(thread, bea, "Une réponse.")
    assert len(digest_jobs(author)) == 1
    assert client.login(author.email).status_code == 302
    assert client.form(f"/threads/{thread.id}/watch", {"watch": "0"}).status_code == 302
    assert not watching(thread, author)

    forum.reply(thread, bea, "Une autre.")
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []
    assert mails_to(smtp_server, bea) == []


def test_watching_again_while_an_old_digest_waits_sends_one_mail(client, smtp_server, clock,
                                                                 people):
    thread, author, bea, _ = people
    forum.reply(thread, bea, "Avant d'arrêter.")
    client.login(author.email)
    client.form(f"/threads/{thread.id}/watch", {"watch": "0"})
    client.form(f"/threads/{thread.id}/watch", {"watch": "1"})
    forum.reply(thread, bea, "Après avoir repris.")

    after_the_window(clock)
    clock.advance(seconds=DIGEST + 1)
    deliver_due()
    [mail] = mails_to(smtp_server, author)
    assert "Après avoir repris." in text_of(mail)
    assert "Avant d'arrêter." not in text_of(mail)


def test_the_unwatch_page_refuses_a_forged_token_and_wants_the_form(client, people):
    thread, author, *_ = people
    assert client.get("/unwatch/forged-token").status_code == 404
    assert client.form("/unwatch/forged-token").status_code == 404
    with client.application.test_request_context():
        token = make_token("unwatch", author.id, thread.id)
    assert client.post(f"/unwatch/{token}").status_code == 400  # no CSRF token
    assert watching(thread, author)
    assert client.form(f"/unwatch/{token}").status_code == 200
    assert not watching(thread, author)


# What is left out ---------------------------------------------------------------------------

def test_a_hidden_reply_is_left_out(smtp_server, clock, people):
    thread, author, bea, carl = people
    moderator = make_user(role="moderator")
    kept = forum.reply(thread, bea, "Réponse utile.")
    spam = forum.reply(thread, carl, "Achetez des montres pas chères.")
    forum.hide_post(spam, moderator)

    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    assert "Réponse utile." in text_of(mail)
    assert "montres" not in mail.as_string()
    assert f"{BASE}/posts/{kept.id}" in text_of(mail)
    with force_locale("fr"):
        assert mail["Subject"] == ngettext("%(num)d new reply in “%(title)s”",
                                           "%(num)d new replies in “%(title)s”", 1,
                                           title="Panne de messagerie")


def test_nothing_is_sent_when_every_new_reply_was_hidden(smtp_server, clock, people):
    thread, author, bea, _ = people
    spam = forum.reply(thread, bea, "Publicité.")
    forum.hide_post(spam, make_user(role="moderator"))
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []
    # The batch is over: the next visible reply starts a new one and is sent.
    forum.reply(thread, bea, "Une vraie réponse.")
    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    assert "Une vraie réponse." in text_of(mail) and "Publicité" not in text_of(mail)


def test_a_watcher_who_lost_access_gets_nothing(smtp_server, clock, people):
    thread, author, bea, _ = people
    moderator = make_user(role="moderator", name="Modo")
    forum.reply(thread, moderator, "Nous regardons.")  # the moderator watches too
    forum.reply(thread, bea, "Merci.")
    forum.move(thread, make_board(visibility="staff"), moderator)

    after_the_window(clock)
    assert mails_to(smtp_server, author) == []
    assert mails_to(smtp_server, bea) == []
    [mail] = mails_to(smtp_server, moderator)  # staff still see the thread
    assert "Merci." in text_of(mail)

    # Nor later: the next reply wakes nobody who cannot see it either.
    smtp_server.reset()
    forum.reply(thread, moderator, "Réglé.")
    after_the_window(clock)
    assert smtp_server.received == []


def test_a_disabled_watcher_gets_nothing(smtp_server, clock, people):
    thread, author, bea, _ = people
    forum.reply(thread, bea, "Réponse.")
    author.disabled_at = now()
    db.session.commit()
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []


def test_a_watcher_of_a_hidden_thread_gets_nothing(smtp_server, clock, people):
    thread, author, bea, _ = people
    forum.reply(thread, bea, "Réponse.")
    forum.hide_thread(thread, make_user(role="moderator"))
    after_the_window(clock)
    assert mails_to(smtp_server, author) == []


def test_the_digest_speaks_the_watcher_s_language(smtp_server, clock):
    author = make_user(name="Ann", locale="en")
    thread = make_thread(author=author, title="Mail outage")
    forum.reply(thread, make_user(), "Same here.")
    forum.reply(thread, make_user(), "Me too.")
    after_the_window(clock)
    [mail] = mails_to(smtp_server, author)
    with force_locale("en"):
        assert mail["Subject"] == ngettext("%(num)d new reply in “%(title)s”",
                                           "%(num)d new replies in “%(title)s”", 2,
                                           title="Mail outage")
