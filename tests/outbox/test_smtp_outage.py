"""An SMTP server that cannot be reached is a reason to wait, not a fault of each mail: the
queue waits without being charged attempts, and mail expires by age, as in Postfix."""

from collections import Counter

import pytest
from sqlalchemy import select, text

from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import Registered, deliver_due, queue, registry


def queue_mails(count: int, prefix: str = "member") -> list[str]:
    recipients = [f"{prefix}{n}@example.org" for n in range(count)]
    for address in recipients:
        queue("mail", {"to": address, "subject": f"Hello {address}",
                       "text": "Body\n", "html": None})
    db.session.commit()
    return recipients


def rows(kind: str = "mail") -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                   .order_by(OutboxMessage.id)))


def test_smtp_down_longer_than_a_day_then_back_delivers_every_mail_once(app, smtp_server,
                                                                        clock):
    recipients = queue_mails(10)
    smtp_server.stop()  # connections refused, for 36 hours of passes
    for _hour in range(36):
        counts = deliver_due()
        assert counts["sent"] == 0 and counts["failed"] == 0
        clock.advance(hours=1)
    assert all(row.state == "pending" and row.attempts == 0 for row in rows())
    assert "Connection refused" in rows()[0].last_error

    smtp_server.start()
    clock.advance(hours=1)
    assert deliver_due() == {"sent": 10, "retry": 0, "failed": 0}
    assert Counter(smtp_server.recipients()) == Counter(recipients)  # each exactly once
    assert all(row.state == "sent" and row.attempts == 1 for row in rows())
    clock.advance(days=10)
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp_server.received) == 10


def test_a_pass_with_smtp_refusing_stops_at_the_first_mail_and_charges_nothing(
        app, refusing_server, monkeypatch, clock):
    monkeypatch.setitem(app.config, "SMTP_URL", refusing_server.url)
    monkeypatch.setitem(app.config, "OUTBOX_RETRY_SECONDS", 0)
    done = []
    monkeypatch.setitem(registry().handlers, "note",
                        Registered(lambda payload: done.append(payload), "tests", "note"))
    queue_mails(50)
    queue("note", {"n": 1})
    db.session.commit()

    counts = deliver_due()
    assert refusing_server.connections == 1  # one try, not one per mail, nor one per retry
    assert counts == {"sent": 1, "retry": 50, "failed": 0}  # the note; the mail waits
    assert done == [{"n": 1}]  # other kinds of work go on
    mails = rows()
    assert all(row.state == "pending" and row.attempts == 0 for row in mails)
    assert "421" in mails[0].last_error and "unreachable" in mails[0].last_error
    assert all(row.last_error is None for row in mails[1:])  # never tried

    # The whole queue waits; the next pass after that tries once again.
    clock.advance(hours=1)
    deliver_due()
    assert refusing_server.connections == 2
    assert all(row.attempts == 0 and row.state == "pending" for row in rows())


@pytest.mark.parametrize("failure", ["refused", "starttls"])
def test_a_server_that_cannot_take_mail_charges_no_attempt(app, smtp_server, closed_port_url,
                                                           monkeypatch, clock, failure):
    # Refused connection, or TLS asked of a server that has none: all mail waits, none fails.
    url = closed_port_url if failure == "refused" else smtp_server.url + "?starttls"
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    queue_mails(3)
    for _ in range(30):
        deliver_due()
        clock.advance(hours=1)
    assert all(row.state == "pending" and row.attempts == 0 for row in rows())
    assert smtp_server.received == []


def test_mail_older_than_the_age_limit_fails_with_a_clear_error(app, closed_port_url,
                                                                monkeypatch, clock):
    monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url)
    max_age = app.config["OUTBOX_MAX_AGE_HOURS"]
    assert max_age == 120  # five days, as Postfix's maximal_queue_lifetime
    queue_mails(3, prefix="old")
    clock.advance(hours=max_age - 1)
    queue_mails(2, prefix="young")
    assert deliver_due()["failed"] == 0  # the old ones are 119 hours old: still waiting
    clock.advance(hours=2)

    counts = deliver_due()
    assert counts["failed"] == 3
    old, young = rows()[:3], rows()[3:]
    assert all(row.state == "failed" and row.attempts == 0 for row in old)
    for row in old:
        assert "expired" in row.last_error and "120 hours" in row.last_error
        assert "Connection refused" in row.last_error
    assert all(row.state == "pending" for row in young)


def test_a_failing_handler_is_retried_until_the_age_limit(app, monkeypatch, clock):
    def broken(payload):
        db.session.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setitem(registry().handlers, "broken", Registered(broken, "tests", "broken"))
    queue("broken", {})
    db.session.commit()
    for _hour in range(119):
        assert deliver_due()["failed"] == 0
        clock.advance(hours=1)
    [row] = rows("broken")
    assert row.state == "pending" and row.attempts > 20  # past the old give-up count
    clock.advance(hours=2)
    assert deliver_due() == {"sent": 0, "retry": 0, "failed": 1}
    [row] = rows("broken")
    assert row.state == "failed" and "expired" in row.last_error
    assert "no_such_table" in row.last_error


@pytest.mark.parametrize("failure", ["451", "refused"])
def test_one_pass_tries_a_row_once_even_without_retry_delay(app, smtp_server, closed_port_url,
                                                           monkeypatch, failure):
    monkeypatch.setitem(app.config, "OUTBOX_RETRY_SECONDS", 0)
    if failure == "451":
        smtp_server.fail_after(0)
    else:
        monkeypatch.setitem(app.config, "SMTP_URL", closed_port_url)
    queue_mails(2)
    assert deliver_due() == {"sent": 0, "retry": 2, "failed": 0}
    expected = 1 if failure == "451" else 0  # a 451 is this mail's attempt; a refusal is not
    assert [(row.state, row.attempts) for row in rows()] == [("pending", expected)] * 2
