"""The outbox worker against a real SMTP server on loopback (aiosmtpd): what the server
receives, retries with backoff, failures, and several workers on PostgreSQL."""

import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, text

from board.accounts import services as accounts
from board.accounts.models import User
from board.clock import now
from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import (
    MAX_DELAY,
    Registered,
    deliver_due,
    queue,
    queue_mail,
    registry,
)
from tests.concurrency import run_together
from tests.factories import make_user

CONFIRM_URL = "http://board.test/confirm/x"
NOTHING = {"sent": 0, "retry": 0, "failed": 0}


def queue_confirm(app, user) -> OutboxMessage:
    with app.test_request_context():
        return queue_mail(user.email, "confirm", user=user, url=CONFIRM_URL)


def queue_plain(to: str, subject: str | None = None) -> OutboxMessage:
    return queue("mail", {"to": to, "subject": subject or f"Hello {to}",
                          "text": f"Body for {to}\n", "html": None})


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def reload(message: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message.id)


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


# Delivery ------------------------------------------------------------------------------------

def test_queued_template_mail_is_received_once_with_headers_and_both_parts(app, smtp_server):
    user = make_user()
    queued = queue_confirm(app, user)
    db.session.commit()
    assert smtp_server.received == []  # queueing sends nothing

    before = datetime.now(UTC)
    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}

    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    from_name, from_address = parseaddr(app.config["MAIL_FROM"])
    assert received.mail_from == from_address
    assert received.rcpt_tos == [user.email]

    message = received.message
    assert message["From"].addresses[0].display_name == from_name
    assert message["From"].addresses[0].addr_spec == from_address
    assert message["To"].addresses[0].addr_spec == user.email
    with force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        assert message["Subject"] == gettext("Confirm your email address")
    sent_date = message["Date"].datetime
    assert sent_date.tzinfo is not None
    assert before - timedelta(seconds=2) <= sent_date <= datetime.now(UTC) + timedelta(seconds=2)
    domain = from_address.rpartition("@")[2]
    assert re.fullmatch(rf"<[^<>@\s]+@{re.escape(domain)}>", message["Message-ID"])

    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert CONFIRM_URL in text and user.name in text
    assert f'href="{CONFIRM_URL}"' in html and user.name in html
    assert "<p>" not in text and "<a " not in text  # no markup in the text part

    row = reload(queued)
    assert row.state == "sent"
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert deliver_due() == NOTHING  # sent rows are not sent again
    assert len(smtp_server.received) == 1


def test_custom_headers_reach_the_server(app, smtp_server):
    user = make_user()
    with app.test_request_context():
        queue_mail(user.email, "confirm", headers={"Auto-Submitted": "auto-generated"},
                   user=user, url=CONFIRM_URL)
    db.session.commit()
    deliver_due()
    [message] = smtp_server.messages
    assert message["Auto-Submitted"] == "auto-generated"


def test_rolled_back_transaction_sends_nothing(app, smtp_server):
    user = make_user()
    queue_confirm(app, user)
    queue_plain("other@example.org")
    db.session.flush()  # the rows exist in the transaction...
    assert outbox_count() == 2
    assert smtp_server.received == []
    db.session.rollback()  # ...and go away with it

    assert deliver_due() == NOTHING
    assert outbox_count() == 0
    assert smtp_server.received == []


def test_mail_is_committed_with_the_change_that_caused_it(app, smtp_server):
    """A rolled-back change takes its mail with it; a committed one sends it."""
    with app.test_request_context():
        user = accounts.add_user("ghost@example.org", "Ghost", "correct horse battery")
        queue_mail(user.email, "confirm", None, user=user, url="http://board.test/confirm/x")
    db.session.rollback()
    assert deliver_due() == NOTHING
    assert db.session.scalar(select(func.count()).select_from(User)) == 0

    with app.test_request_context():
        accounts.register("real@example.org", "Real", "correct horse battery", None)
    assert deliver_due()["sent"] == 1
    assert smtp_server.recipients() == ["real@example.org"]


# Retries -------------------------------------------------------------------------------------

def test_server_down_then_back_delivers_exactly_once(app, smtp_server, closed_port_url,
                                                     monkeypatch, clock):
    retry = app.config["OUTBOX_RETRY_SECONDS"]
    user = make_user()
    queued = queue_confirm(app, user)
    db.session.commit()

    monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url)
    before = now()
    assert deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
    after = now()
    row = reload(queued)
    assert row.state == "pending"
    assert row.attempts == 0  # the server, not the mail, failed: no attempt charged
    assert "Connection refused" in row.last_error
    assert before + timedelta(seconds=retry) <= row.due_at <= after + timedelta(seconds=retry)

    # Right away, nothing is due, even with the server back.
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    assert deliver_due() == NOTHING
    clock.advance(seconds=retry - 2)
    assert deliver_due() == NOTHING
    assert smtp_server.received == []

    clock.advance(seconds=3)
    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert smtp_server.recipients() == [user.email]
    row = reload(queued)
    assert row.state == "sent" and row.attempts == 1 and row.last_error is None
    # The Message-ID was fixed at queue time: a retry never looks like a new mail.
    assert smtp_server.received[0].message["Message-ID"] == row.payload["message_id"]

    clock.advance(days=1)
    assert deliver_due() == NOTHING
    assert len(smtp_server.received) == 1


def test_retry_delay_default_is_30_seconds(app):
    assert app.config["OUTBOX_RETRY_SECONDS"] == 30


def test_a_4xx_is_retried_with_doubling_backoff_until_the_age_limit(app, smtp_server, clock,
                                                                   caplog):
    retry = app.config["OUTBOX_RETRY_SECONDS"]
    max_age = timedelta(hours=app.config["OUTBOX_MAX_AGE_HOURS"])
    smtp_server.fail_after(0)  # "451 try later" to every message
    queued = queue_plain("patient@example.org")
    db.session.commit()
    created = reload(queued).created_at

    delays = []
    while now() - created < max_age:
        before = now()
        assert deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
        row = reload(queued)
        assert row.attempts == len(delays) + 1 and row.state == "pending"
        delays.append(round((row.due_at - before).total_seconds()))
        # Not due one second before its time, due one second after.
        wait = row.due_at - now()
        clock.advance(seconds=wait.total_seconds() - 1)
        assert deliver_due() == NOTHING
        clock.advance(seconds=2)

    # 30, 60, 120, ... then capped at an hour, for five days: far more than a count of 20.
    doubling = [retry * 2 ** n for n in range(7)]
    assert doubling[-1] * 2 > MAX_DELAY
    assert delays[:7] == doubling and set(delays[7:]) == {MAX_DELAY}
    assert len(delays) > 100

    caplog.set_level(logging.ERROR, logger="board.outbox")
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 1}
    row = reload(queued)
    assert row.state == "failed"
    assert row.failed_at is not None and row.sent_at is None
    assert row.attempts == len(delays) + 1
    assert "expired" in row.last_error and "451" in row.last_error
    assert any("gave up" in record.getMessage() for record in caplog.records)

    # Never retried, even much later with the server up; the row stays for inspection.
    smtp_server.fail_after(None)
    clock.advance(days=30)
    assert deliver_due() == NOTHING
    assert smtp_server.received == []
    assert reload(queued).attempts == len(delays) + 1
    assert outbox_count() == 1


@pytest.mark.parametrize("failure", ["451", "crash"])
def test_server_failing_mid_batch_loses_nothing_and_doubles_nothing(app, smtp_server, clock,
                                                                   failure):
    recipients = [f"member{n}@example.org" for n in range(20)]
    for address in recipients:
        queue_plain(address)
    db.session.commit()

    if failure == "451":
        smtp_server.fail_after(7)  # DATA answered "451 try later" from the 8th message on
    else:
        smtp_server.crash_after(7)  # the server goes away at the 8th message
    counts = deliver_due()
    assert counts == {"sent": 7, "retry": 13, "failed": 0}
    assert Counter(smtp_server.recipients()) == Counter(recipients[:7])
    pending = [row for row in rows() if row.state == "pending"]
    assert [row.payload["to"] for row in pending] == recipients[7:]
    if failure == "451":  # each message was refused for now: each is charged and retried
        assert all(row.attempts == 1 and "451" in row.last_error for row in pending)
    else:  # the server went away: the pass stopped there, nothing charged, the rest untried
        assert not smtp_server.running
        assert all(row.attempts == 0 for row in pending)
        assert "421" in pending[0].last_error
        assert all(row.last_error is None for row in pending[1:])

    # The server comes back; the rows wait for their retry time, then go, once.
    smtp_server.fail_after(None)
    smtp_server.start()
    assert deliver_due() == NOTHING
    clock.advance(seconds=app.config["OUTBOX_RETRY_SECONDS"] + 1)
    assert deliver_due() == {"sent": 13, "retry": 0, "failed": 0}
    assert Counter(smtp_server.recipients()) == Counter(recipients)  # each exactly once
    assert all(row.state == "sent" for row in rows())
    clock.advance(days=1)
    assert deliver_due() == NOTHING
    assert len(smtp_server.received) == 20


def test_permanent_refusal_of_one_recipient_does_not_hold_back_the_others(app, smtp_server,
                                                                         clock):
    smtp_server.refuse("nobody@example.org")
    for address in ("first@example.org", "nobody@example.org", "last@example.org"):
        queue_plain(address)
    db.session.commit()

    # A 5xx refusal is final: no retry, the row fails at once and keeps the reason.
    assert deliver_due() == {"sent": 2, "retry": 0, "failed": 1}
    assert sorted(smtp_server.recipients()) == ["first@example.org", "last@example.org"]
    [refused] = [row for row in rows() if row.state != "sent"]
    assert refused.payload["to"] == "nobody@example.org"
    assert refused.state == "failed" and refused.attempts == 1
    assert "550" in refused.last_error
    clock.advance(days=1)
    assert deliver_due() == NOTHING
    assert sorted(smtp_server.recipients()) == ["first@example.org", "last@example.org"]


def test_deliver_due_respects_the_limit(app, smtp_server):
    for n in range(5):
        queue_plain(f"batch{n}@example.org")
    db.session.commit()
    assert deliver_due(limit=2) == {"sent": 2, "retry": 0, "failed": 0}
    assert smtp_server.recipients() == ["batch0@example.org", "batch1@example.org"]
    assert deliver_due() == {"sent": 3, "retry": 0, "failed": 0}
    assert len(set(smtp_server.recipients())) == len(smtp_server.recipients()) == 5


# Other kinds of side effects ----------------------------------------------------------------

def test_registered_handler_runs_in_the_row_transaction(app, monkeypatch):
    def publish(payload):
        accounts.add_user(payload["email"], "Published", "correct horse battery")

    monkeypatch.setitem(registry().handlers, "publish", Registered(publish, "tests", "publish"))
    queued = queue("publish", {"email": "published@example.org"})
    db.session.commit()
    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert reload(queued).state == "sent"
    assert accounts.find_by_email("published@example.org") is not None


def test_handler_whose_sql_fails_is_retried_and_does_not_block_the_outbox(app, smtp_server,
                                                                         monkeypatch):
    def broken(payload):
        db.session.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setitem(registry().handlers, "broken", Registered(broken, "tests", "broken"))
    poison = queue("broken", {})
    unknown = queue("no-such-kind", {})
    queue_plain("after@example.org")
    db.session.commit()

    assert deliver_due() == {"sent": 1, "retry": 2, "failed": 0}
    assert smtp_server.recipients() == ["after@example.org"]
    poison, unknown = reload(poison), reload(unknown)
    assert poison.state == "pending" and poison.attempts == 1
    assert "no_such_table" in poison.last_error
    assert unknown.state == "pending" and unknown.attempts == 1
    assert "KeyError" in unknown.last_error


# Without SMTP, and the command ---------------------------------------------------------------

def test_without_smtp_url_mail_is_logged_and_marked_sent(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMTP_URL", "")
    user = make_user()
    queued = queue_confirm(app, user)
    db.session.commit()

    caplog.set_level(logging.INFO, logger="board.mail")
    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    [record] = [r for r in caplog.records if r.name == "board.mail"]
    logged = record.getMessage()
    assert f"To: {user.email}" in logged
    assert "Message-ID: <" in logged
    assert CONFIRM_URL in logged
    # As a person reads it: decoded subject and text, no quoted-printable, no HTML part.
    assert "Subject: Confirmez votre adresse e-mail" in logged
    assert "=3D" not in logged and "=C3" not in logged and "<html" not in logged
    assert reload(queued).state == "sent"


def test_worker_once_command_delivers_and_prints_a_summary(app, smtp_server, runner):
    for n in range(3):
        queue_plain(f"cli{n}@example.org")
    db.session.commit()

    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 3, to retry 0, failed 0" in result.output
    assert sorted(smtp_server.recipients()) == [f"cli{n}@example.org" for n in range(3)]
    assert all(row.state == "sent" for row in rows())

    result = runner.invoke(args=["worker", "--once"])
    assert "sent 0, to retry 0, failed 0" in result.output
    assert len(smtp_server.received) == 3


def test_worker_once_command_reports_retries_when_the_server_is_down(app, runner, monkeypatch,
                                                                    closed_port_url):
    monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url)
    queue_plain("later@example.org")
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 0, to retry 1, failed 0" in result.output


# Several workers ----------------------------------------------------------------------------

def test_two_workers_never_send_the_same_row_twice(app, smtp_server):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED, "
                    "which SQLite does not have (one worker only there)")
    recipients = [f"crowd{n}@example.org" for n in range(200)]
    for address in recipients:
        queue_plain(address)
    db.session.commit()

    results = run_together(app, 2, lambda _n: deliver_due(), timeout=60)

    assert Counter(smtp_server.recipients()) == Counter(recipients)  # none lost, none doubled
    assert sum(counts["sent"] for counts in results) == 200
    assert all(counts["retry"] == counts["failed"] == 0 for counts in results)
    assert all(row.state == "sent" and row.attempts == 1 for row in rows())
    print("messages sent by each worker:", [counts["sent"] for counts in results])
