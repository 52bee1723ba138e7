"""Mentions written at once, by many members on real connections, reach the member whole: a
notification each, and a single mail for the batch. PostgreSQL only, as the counters' test."""

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Thread
from board.forum.notifications import MAIL_DELAY_SECONDS, Notification, save_preferences
from board.outbox.services import deliver_due
from tests.concurrency import run_together
from tests.factories import make_thread, make_user
from tests.forum import test_watching as watching
from tests.forum.test_watching import mails_to, text_of

_smtp_server, smtp_server, clock = watching._smtp_server, watching.smtp_server, watching.clock
WRITERS = 10


@pytest.fixture(autouse=True)
def postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers (one database lock)")


def test_mentions_at_once_make_one_notification_each_and_one_mail(app, smtp_server, clock):
    jean = make_user(name="Jean")
    save_preferences(jean, {"mention": "both"})
    thread_id = make_thread(title="Tous ensemble").id
    writer_ids = [make_user(name=f"Auteur {n}").id for n in range(WRITERS)]

    def write(n):
        author = db.session.get(User, writer_ids[n])
        forum.reply(db.session.get(Thread, thread_id), author, f"@Jean, message {n}")

    run_together(app, WRITERS, write)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == jean.id, Notification.kind == "mention")) == WRITERS
    clock.advance(seconds=MAIL_DELAY_SECONDS + 1)
    deliver_due()
    [mail] = mails_to(smtp_server, jean)
    assert mail["Subject"] == f"{WRITERS} notifications de la communauté"
    assert all(f"Auteur {n} vous a mentionné" in text_of(mail) for n in range(WRITERS))
