""""Is it fixed for you?": once an incident is resolved, each member affected on one of its
threads is asked on the thread (one click, a POST), and in the watch digest that brings the
resolution; one answer per member and incident, changeable; staff read the counts on the
incident page; past FIXED_NO_THRESHOLD "no" within FIXED_NO_WINDOW_HOURS, an alert proposes
to reopen (incident page, reports page, one mail per admin, once per incident)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.outbox.services import deliver_due
from board.travaux import fixed
from board.travaux.models import Incident
from board.travaux.postmortem_models import FixedAlert, FixedAnswer
from tests.factories import make_board, make_thread, make_user
from tests.outbox.conftest import _smtp_server, clock, smtp_server  # noqa: F401 - fixtures
from tests.travaux.factories import link_thread, make_incident, post_update

QUESTION = "Est-ce réglé pour vous"


@pytest.fixture(autouse=True)
def threshold(app, monkeypatch):
    monkeypatch.setitem(app.config, "FIXED_NO_THRESHOLD", 3)
    monkeypatch.setitem(app.config, "FIXED_NO_WINDOW_HOURS", 6)


@pytest.fixture
def outage(app):
    """An incident promoted from a member's report, two "me too", and a second linked
    report; resolved unless the test says otherwise."""
    admin = make_user(role="admin", name="Camille (équipe)")
    reporter = make_user(name="Rita")
    others = [make_user(name=f"Membre {n}") for n in range(4)]
    board = make_board()
    report = make_thread(board=board, author=reporter, title="Webmail en panne")
    for member in others[:2]:
        forum.mark_affected(report, member)
    second = make_thread(board=board, author=others[2], title="Webmail lent")
    incident = make_incident(admin, title="Webmail indisponible")
    link_thread(incident, report, admin)
    link_thread(incident, second, admin)
    return {"admin": admin, "incident": incident, "report": report, "second": second,
            "reporter": reporter, "others": others}


def resolve(outage):
    post_update(outage["incident"], outage["admin"], "resolved", "C'est réparé.")


def log_in(client, email):
    client.logout()
    assert client.login(email).status_code == 302


def thread_page(client, thread):
    return client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)


def answer(client, thread, value):
    return client.form(f"/threads/{thread.id}/fixed", {"fixed": value})


def test_asked_only_once_resolved_and_only_to_the_members_affected(client, outage):
    report = outage["report"]
    log_in(client, outage["others"][0].email)
    assert QUESTION not in thread_page(client, report)  # not resolved yet
    resolve(outage)
    page = thread_page(client, report)
    assert QUESTION in page and "Oui, c’est réglé" in page and "Non, toujours en panne" in page
    # The reporter of another linked thread is asked on this one too.
    log_in(client, outage["others"][2].email)
    assert QUESTION in thread_page(client, report)
    for who in (outage["others"][3], outage["admin"]):  # not affected; staff
        log_in(client, who.email)
        assert QUESTION not in thread_page(client, report)
    client.logout()
    assert QUESTION not in thread_page(client, report)


def test_a_get_never_answers(client, outage):
    resolve(outage)
    log_in(client, outage["reporter"].email)
    # The address is a thread's (its slug), never the answer.
    assert client.get(f"/threads/{outage['report'].id}/fixed").status_code in (301, 405)
    assert client.post(f"/threads/{outage['report'].id}/fixed",
                       data={"fixed": "no"}).status_code == 400  # no CSRF token
    assert answer(client, outage["report"], "maybe").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(FixedAnswer)) == 0


def test_one_answer_per_member_changeable_and_counted_for_staff(client, outage):
    resolve(outage)
    incident, report = outage["incident"], outage["report"]
    log_in(client, outage["reporter"].email)
    assert answer(client, report, "no").status_code == 302
    assert "Votre réponse\u00a0: toujours en panne." in thread_page(client, report)
    answer(client, report, "yes")
    assert "Votre réponse\u00a0: c’est réglé." in thread_page(client, report)
    log_in(client, outage["others"][0].email)
    answer(client, outage["second"], "no")  # answered from the other thread: one incident
    assert db.session.scalar(select(func.count()).select_from(FixedAnswer)) == 2
    log_in(client, outage["admin"].email)
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert 'class="fixed-yes">1<' in page and 'class="fixed-no">1<' in page
    assert "4 membres concernés sont interrogés" in page  # the two reporters, two "me too"
    client.logout()
    guest = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert "fixed-no" not in guest


def test_a_member_not_affected_cannot_answer(client, outage):
    resolve(outage)
    log_in(client, outage["others"][3].email)
    answer(client, outage["report"], "no")
    assert db.session.scalar(select(func.count()).select_from(FixedAnswer)) == 0


def test_an_open_incident_takes_no_answer(client, outage):
    log_in(client, outage["reporter"].email)
    response = answer(client, outage["report"], "no")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(FixedAnswer)) == 0


def test_enough_no_within_the_window_alert_staff_once(client, outage, smtp_server):  # noqa: F811
    resolve(outage)
    incident = outage["incident"]
    other_admin = make_user(role="admin")
    members = [outage["reporter"], *outage["others"][:3]]
    for member in members[:2]:
        log_in(client, member.email)
        answer(client, outage["report"], "no")
    assert db.session.get(FixedAlert, incident.id) is None
    log_in(client, members[2].email)
    answer(client, outage["report"], "no")
    alert = db.session.get(FixedAlert, incident.id)
    assert alert is not None and alert.no_count == 3
    log_in(client, members[3].email)
    answer(client, outage["report"], "no")  # past the threshold: no second alert
    deliver_due()
    assert sorted(smtp_server.recipients()) == sorted([outage["admin"].email,
                                                       other_admin.email])
    mail = smtp_server.messages[0]
    assert "Webmail indisponible" in mail["Subject"]
    assert f"http://board.test/travaux/incidents/{incident.id}#fixed" in \
        mail.get_body(("plain",)).get_content()
    log_in(client, outage["admin"].email)
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert "3 membres disent que c’est toujours en panne" in page
    assert "Rouvrir l’incident" in page
    reports = client.get("/travaux/reports").get_data(as_text=True)
    assert "Toujours en panne pour des membres\u00a0: Webmail indisponible" in reports
    # Never reopened by itself.
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status == "resolved"


def test_no_answers_spread_beyond_the_window_raise_nothing(client, outage):
    resolve(outage)
    members = [outage["reporter"], *outage["others"][:2]]
    for hours, member in zip((0, 4, 11), members, strict=True):
        with travel(timedelta(hours=hours)):
            log_in(client, member.email)
            answer(client, outage["report"], "no")
    assert db.session.get(FixedAlert, outage["incident"].id) is None


def test_the_alert_proposes_reopening_and_staff_decide(client, outage):
    resolve(outage)
    incident = outage["incident"]
    for member in [outage["reporter"], *outage["others"][:2]]:
        log_in(client, member.email)
        answer(client, outage["report"], "no")
    moderator = make_user(role="moderator")
    log_in(client, moderator.email)
    assert client.form(f"/travaux/incidents/{incident.id}/fixed/reopen").status_code == 403
    log_in(client, outage["admin"].email)
    client.form(f"/travaux/incidents/{incident.id}/fixed/reopen")
    db.session.expire_all()
    reopened = db.session.get(Incident, incident.id)
    assert reopened.status == "investigating" and reopened.resolved_at is None
    assert "problème est toujours là" in reopened.last_update.body_source
    # Resolved again: the members are asked again, the alert does not come back.
    resolve(outage)
    log_in(client, outage["reporter"].email)
    page = thread_page(client, outage["report"])
    assert QUESTION in page and "Votre réponse" not in page


def test_staff_may_keep_it_resolved(client, outage):
    resolve(outage)
    for member in [outage["reporter"], *outage["others"][:2]]:
        log_in(client, member.email)
        answer(client, outage["report"], "no")
    log_in(client, make_user(role="moderator").email)
    client.form(f"/travaux/incidents/{outage['incident'].id}/fixed/dismiss")
    assert "Toujours en panne pour des membres" not in client.get(
        "/travaux/reports").get_data(as_text=True)
    assert fixed.alert_for(outage["incident"]) is None


def test_the_resolution_digest_carries_the_question(app, client, outage, smtp_server,  # noqa: F811
                                                    clock):  # noqa: F811
    watcher = outage["others"][0]  # a "me too": watches the report
    resolve(outage)
    clock.advance(seconds=app.config["WATCH_DIGEST_SECONDS"] + 1)
    deliver_due()
    [mail] = [m for m in smtp_server.messages
              if m["To"].addresses[0].addr_spec == watcher.email]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = f"http://board.test/threads/{outage['report'].id}/{outage['report'].slug}#fixed"
    assert QUESTION in text and link in text
    assert f'href="{link}"' in html
    # A watcher not affected gets the digest without the question.
    smtp_server.reset()
    bystander = outage["others"][3]
    forum.set_watching(outage["report"], bystander, True)
    forum.reply(outage["report"], outage["admin"], "Merci à tous.")
    clock.advance(seconds=2 * app.config["WATCH_DIGEST_SECONDS"] + 2)
    deliver_due()
    mine = [m for m in smtp_server.messages
            if m["To"].addresses[0].addr_spec == bystander.email]
    assert mine and QUESTION not in mine[0].get_body(("plain",)).get_content()


def test_the_question_costs_one_query_whatever_the_answers(client, outage):
    from tests.travaux.test_queries import queries_for

    resolve(outage)
    report = outage["report"]
    path = f"/threads/{report.id}/{report.slug}"
    log_in(client, outage["others"][3].email)  # not asked
    not_asked = queries_for(client, path)
    log_in(client, outage["others"][0].email)
    asked = queries_for(client, path)
    for member in [outage["reporter"], *outage["others"][1:3]]:
        fixed.answer(outage["incident"], member, False)
    # One query tells a member whether they are asked and what they answered: paid by every
    # member on a resolved linked thread, whatever the number of answers.
    assert asked == not_asked
    assert queries_for(client, path) == asked
    post_update(outage["incident"], outage["admin"], "monitoring", "Rouvert.", reopen=True)
    assert queries_for(client, path) == asked - 1  # not resolved: nothing asked, no query
