"""Suspected incidents (board/travaux/spikes.py): a burst of reports on one service opens one
for staff and mails the admins who asked, once; a steady rate does not; one action promotes
the burst."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Thread
from board.outbox.models import OutboxMessage
from board.travaux import spikes
from board.travaux.models import Incident, SuspectedIncident
from board.urls import site_context
from tests.factories import make_board, make_user
from tests.travaux.factories import make_service


def spike_mails() -> list[dict]:
    return [m.payload for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "mail")) if "soupçonné" in m.payload["subject"]]


def report(board, service, title="Plus de courriels", author=None):
    return forum.open_thread(board, author or make_user(), title, "Depuis ce matin.",
                             service_id=service.id)


@pytest.fixture
def setting(app):
    mail, web = make_service(name="Messagerie"), make_service(name="Hébergement web")
    watcher = make_user(role="admin", name="Astreinte")
    watcher.spike_alerts = True
    make_user(role="admin", name="Pas d'alertes")
    db.session.commit()
    return {"mail": mail, "web": web, "board": make_board(), "watcher": watcher}


def detect():
    with site_context():
        return spikes.detect()


def test_a_burst_on_one_service_opens_one_suspected_incident_and_one_mail(setting):
    board, mail = setting["board"], setting["mail"]
    reports = [report(board, mail, f"Courriels bloqués {n}") for n in range(3)]
    for thread in reports[:2]:
        forum.mark_affected(thread, make_user())
    report(setting["board"], setting["web"], "Site lent")  # another service: not counted
    assert detect() == 1
    suspect = db.session.scalar(select(SuspectedIncident))
    assert suspect.service_id == mail.id and suspect.signals == 5 and suspect.closed_at is None
    mails = spike_mails()
    assert [m["to"] for m in mails] == [setting["watcher"].email]
    assert "Messagerie" in mails[0]["subject"] and "/travaux/reports" in mails[0]["text"]
    # The burst goes on: the same suspicion, updated, and nothing more is sent.
    with travel(timedelta(minutes=5)):
        for n in range(3):
            report(board, mail, f"Encore des courriels bloqués {n}")
        assert detect() == 0
    assert db.session.scalar(select(func.count(SuspectedIncident.id))) == 1
    assert db.session.scalar(select(SuspectedIncident)).peak == 8
    assert len(spike_mails()) == 1


def test_below_the_threshold_nothing_opens(setting):
    for n in range(4):
        report(setting["board"], setting["mail"], f"Courriels lents {n}")
    assert detect() == 0
    assert spike_mails() == []


def test_a_steady_rate_is_no_spike(setting):
    board, mail = setting["board"], setting["mail"]
    # Every day for four weeks, around this hour, as many reports per quarter hour as now.
    for day in range(28, 0, -1):
        for n in range(24):
            with travel(timedelta(days=-day, minutes=n * 2.5 - 29)):
                report(board, mail, f"Courriels lents jour {day} {n}")
    for n in range(6):
        report(board, mail, f"Courriels lents aujourd'hui {n}")
    assert detect() == 0
    assert db.session.scalar(select(func.count(SuspectedIncident.id))) == 0


def test_a_quiet_spike_closes_by_itself_and_a_new_one_mails_again(setting):
    board, mail = setting["board"], setting["mail"]
    for n in range(5):
        report(board, mail, f"Courriels bloqués {n}")
    detect()
    with travel(timedelta(hours=3)):
        assert detect() == 0
        assert db.session.scalar(select(SuspectedIncident)).outcome == "quiet"
        for n in range(5):
            report(board, mail, f"Nouvelle panne de courriel {n}")
        assert detect() == 1
    assert len(spike_mails()) == 2


def test_staff_see_it_and_one_action_promotes_and_links_the_burst(client, setting, login_as):
    board, mail = setting["board"], setting["mail"]
    reports = [report(board, mail, f"Courriels bloqués {n}") for n in range(5)]
    for user in (make_user(), make_user()):
        forum.mark_affected(reports[3], user)
    detect()
    suspect = db.session.scalar(select(SuspectedIncident))
    assert "soupçonné" not in client.get("/travaux/").get_data(as_text=True)  # never public
    login_as("admin")
    page = client.get("/travaux/reports").get_data(as_text=True)
    assert "Incident soupçonné : Messagerie" in page
    assert page.index("Courriels bloqués 3") < page.index("Courriels bloqués 0")
    assert "suspected-alert" in client.get("/").get_data(as_text=True)
    response = client.form(f"/travaux/suspected/{suspect.id}/promote")
    assert response.status_code == 302
    incident = db.session.scalar(select(Incident))
    assert incident.source_thread_id == reports[3].id
    assert [s.id for s in incident.services] == [mail.id]
    linked = db.session.scalars(select(Thread.id).where(Thread.incident_id == incident.id))
    assert set(linked) == {t.id for t in reports}
    assert db.session.get(SuspectedIncident, suspect.id).outcome == "promoted"
    again = client.form(f"/travaux/suspected/{suspect.id}/promote", follow_redirects=True)
    assert "clos" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Incident.id))) == 1


def test_staff_dismiss_it_members_cannot_see_it(client, setting, login_as):
    for n in range(5):
        report(setting["board"], setting["mail"], f"Courriels bloqués {n}")
    detect()
    suspect = db.session.scalar(select(SuspectedIncident))
    login_as("member")
    assert client.get("/travaux/reports").status_code == 403
    assert client.form(f"/travaux/suspected/{suspect.id}/dismiss").status_code == 403
    client.logout()
    login_as("moderator")
    assert client.form(f"/travaux/suspected/{suspect.id}/dismiss").status_code == 302
    assert db.session.get(SuspectedIncident, suspect.id).outcome == "dismissed"


def test_admins_choose_the_alert_on_their_account_page(client, login_as):
    admin = login_as("admin")
    assert "M’écrire quand une vague" in client.get("/account").get_data(as_text=True)
    client.form("/account/alerts", {"spike_alerts": "y"})
    assert db.session.get(type(admin), admin.id).spike_alerts is True
    client.form("/account/alerts", {})
    assert db.session.get(type(admin), admin.id).spike_alerts is False


def test_a_merge_is_no_burst_and_a_duplicate_is_no_report(setting):
    board, mail = setting["board"], setting["mail"]
    with travel(timedelta(hours=-3)):  # an old report with many "me too"
        old = report(board, mail, "Courriels en retard depuis hier")
        for _ in range(6):
            forum.mark_affected(old, make_user())
    target = report(board, mail, "Réception lente")
    duplicate = report(board, mail, "Réception lente, moi aussi")
    with site_context():
        forum.merge_duplicate(old, target, make_user(role="moderator"))
        forum.merge_duplicate(duplicate, target, make_user(role="moderator"))
    # The target, and its one "me too" moved from the recent duplicate's author.
    assert spikes.signals(spikes.now() - timedelta(minutes=15), spikes.now()) == {mail.id: 2}
    assert detect() == 0
    for n in range(5):
        report(board, mail, f"Courriels bloqués {n}")
    detect()
    suspect = db.session.scalar(select(SuspectedIncident))
    assert not {old.id, duplicate.id} & {t.id for t in spikes.cluster(suspect)}


def test_the_reports_page_costs_the_same_for_one_or_three_suspects(client, setting, login_as):
    from tests.conftest import count_queries

    login_as("moderator")
    costs = []
    for services in ([setting["mail"]], [setting["web"], make_service(name="DNS")]):
        for service in services:
            for n in range(5):
                report(setting["board"], service, f"Panne {service.name} {n}")
        detect()
        with count_queries() as statements:
            assert client.get("/travaux/reports").status_code == 200
        costs.append(len(statements))
    assert db.session.scalar(select(func.count(SuspectedIncident.id))) == 3
    # At most one cluster query per open suspicion more; nothing per report or per service.
    assert costs[1] <= costs[0] + 2, costs
