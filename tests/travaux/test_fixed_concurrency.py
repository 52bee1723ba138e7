"""Many members answering "Is it fixed for you?" at once, on real PostgreSQL connections
released together: every answer counted once (double clicks included), the threshold seen
whatever the interleaving, the alert raised once and mailed once per admin."""

import os

from sqlalchemy import func, select

from board.accounts.models import User
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Affected
from board.outbox.models import OutboxMessage
from board.travaux import fixed
from board.travaux.models import Incident
from board.travaux.postmortem_models import FixedAlert, FixedAnswer
from tests.concurrency import run_together
from tests.factories import make_board, make_thread, make_user
from tests.forum.test_concurrent_counters import postgresql_only  # noqa: F401 - autouse
from tests.travaux.factories import link_thread, make_incident, post_update

MEMBERS = int(os.environ.get("FIXED_MEMBERS", "24"))


def test_answers_at_once_are_each_counted_and_alert_once(app, monkeypatch):
    # The threshold is the last "no": no answer may miss the ones before it.
    monkeypatch.setitem(app.config, "FIXED_NO_THRESHOLD", MEMBERS // 2)
    admin = make_user(role="admin")
    make_user(role="admin")
    report = make_thread(board=make_board())
    members = [make_user() for _ in range(MEMBERS)]
    for member in members:
        forum.mark_affected(report, member)
    incident = make_incident(admin)
    link_thread(incident, report, admin)
    post_update(incident, admin, "resolved", "Réparé.")
    incident_id, thread_id = incident.id, report.id
    member_ids = [m.id for m in members]
    db.session.commit()

    def answer(n):
        # Even members say "no", odd ones "yes"; each "no" is clicked twice at once (a
        # second request per even member).
        index = n if n < MEMBERS else 2 * (n - MEMBERS)
        member = db.session.get(User, member_ids[index])
        incident = db.session.get(Incident, incident_id)
        fixed.answer(incident, member, fixed=index % 2 == 1,
                     thread=db.session.get(type(report), thread_id))

    run_together(app, MEMBERS + MEMBERS // 2, answer)

    db.session.expire_all()
    rows = db.session.scalar(select(func.count()).select_from(FixedAnswer))
    counts = fixed.counts(db.session.get(Incident, incident_id))
    print(f"{rows} answers for {MEMBERS} members: {counts}")
    assert rows == MEMBERS
    assert db.session.scalar(select(func.count()).select_from(Affected)) == MEMBERS
    no = sum(1 for n in range(MEMBERS) if n % 2 == 0)
    assert (counts.yes, counts.no) == (MEMBERS - no, no)
    alert = db.session.get(FixedAlert, incident_id)
    assert alert is not None and alert.no_count == no
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail")).all()
    alerts = [m for m in mails if "Toujours en panne" in m.payload["subject"]]
    assert len(alerts) == 2  # one per admin


def test_two_last_no_counting_at_the_same_moment_still_raise_the_alert(app, monkeypatch):
    """The race itself, made to happen: two members' "no" (the threshold is two) reach the
    count of "no" together, held there by a barrier on the statement. Answers take turns on
    the incident's row, so the second waits for the first to commit and counts both; without
    that, each would count only its own and nobody would be told."""
    from threading import Barrier, BrokenBarrierError

    from sqlalchemy import event

    monkeypatch.setitem(app.config, "FIXED_NO_THRESHOLD", 2)
    admin = make_user(role="admin")
    report = make_thread(board=make_board())
    members = [make_user() for _ in range(2)]
    for member in members:
        forum.mark_affected(report, member)
    incident = make_incident(admin)
    link_thread(incident, report, admin)
    post_update(incident, admin, "resolved", "Réparé.")
    incident_id, member_ids = incident.id, [m.id for m in members]
    db.session.commit()
    together = Barrier(2)

    def hold(conn, cursor, statement, *args):
        if "count(*)" in statement and "fixed_answers" in statement and "answered_at" in \
                statement:
            try:
                together.wait(timeout=3)  # the other answer is blocked behind our lock
            except BrokenBarrierError:
                pass

    event.listen(db.engine, "before_cursor_execute", hold)
    try:
        run_together(app, 2, lambda n: fixed.answer(
            db.session.get(Incident, incident_id), db.session.get(User, member_ids[n]),
            fixed=False))
    finally:
        event.remove(db.engine, "before_cursor_execute", hold)
    db.session.expire_all()
    alert = db.session.get(FixedAlert, incident_id)
    assert alert is not None and alert.no_count == 2
