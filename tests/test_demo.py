"""`flask demo`: what `make run` shows a newcomer, loaded into an empty database only."""

from sqlalchemy import func, select

from board.accounts.models import User
from board.extensions import db
from board.forum.models import Board, Thread
from board.lists.models import ListMessage
from board.travaux.models import Incident


def test_demo_loads_a_believable_board_once(app, client, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "admin@exemple.org / admin-demo-2026" in result.output
    assert db.session.scalar(select(func.count(Board.id))) == 7
    assert db.session.scalar(select(func.count(Thread.id))) >= 12
    kinds = db.session.execute(select(Incident.kind, Incident.resolved_at.is_not(None))).all()
    assert ("incident", True) in kinds and ("incident", False) in kinds
    assert ("maintenance", False) in kinds
    # The ongoing incident was promoted from a demo report, which shows it.
    promoted = db.session.scalar(select(Thread).where(Thread.incident_id.is_not(None),
                                                      Thread.slug.like("erreur-503%")))
    assert promoted is not None and promoted.affected_count >= 5
    assert "erreurs 503" in client.get("/travaux/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(ListMessage.id))) == 0
    # Never twice: --if-empty is quiet, a plain second run refuses.
    again = runner.invoke(args=["demo", "--if-empty"])
    assert again.exit_code == 0 and "already holds data" in again.output
    assert runner.invoke(args=["demo"]).exit_code != 0
    assert db.session.scalar(select(func.count(Board.id))) == 7


def test_status_page_and_banner_link_the_independent_site(app, client, runner, monkeypatch):
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLIC_URL", "https://etat.example.org")
    runner.invoke(args=["demo"])
    status = client.get("/travaux/").get_data(as_text=True)
    assert 'href="https://etat.example.org/"' in status
    banner = client.get("/").get_data(as_text=True)
    assert 'class="ops-banner' in banner and "https://etat.example.org/" in banner


def test_the_demo_answers_is_it_just_me(app, client, runner):
    """Issue 12's three demo checks: search, similar reports, a suspected incident."""
    from board.travaux.models import Service, SuspectedIncident

    runner.invoke(args=["demo"])
    from tests.search.conftest import results

    first = results(client.get("/search", query_string={"q": "erreur 503"}))[:2]
    assert {r.split(":", 1)[1].strip() for r in first} == {
        "Erreur 503 sur mon site WordPress depuis ce matin",
        "Hébergement web : erreurs 503 sur le serveur web7"}
    web = db.session.scalar(select(Board).where(Board.slug == "hebergement-web"))
    box = client.get("/search/similar", query_string={
        "title": "mon site affiche 503", "service": web.default_service_id}).get_data(as_text=True)
    assert "Hébergement web : erreurs 503 sur le serveur web7" in box
    assert "Erreur 503 sur mon site WordPress depuis ce matin" in box
    suspect = db.session.scalar(select(SuspectedIncident))
    assert db.session.get(Service, suspect.service_id).slug == "mail"


def test_the_demo_answers_calendars_and_webhooks(app, client, runner, monkeypatch):
    """Issue 13's demo checks beside the mail ones (tests/travaux/test_subscriptions.py): the
    demo's maintenance is in the calendar; an endpoint an admin registers through the form
    receives the ongoing incident's next update, signed (checked by the spec's recipe)."""
    from icalendar import Calendar

    from tests.travaux.receivers import Recorder
    from tests.travaux.test_webhooks import verify

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    assert runner.invoke(args=["demo"]).exit_code == 0
    calendar = Calendar.from_ical(client.get("/travaux/maintenance.ics").data)
    planned = db.session.scalars(select(Incident.title).where(
        Incident.kind == "maintenance", Incident.resolved_at.is_(None))).all()
    summaries = {str(event["SUMMARY"]) for event in calendar.walk("VEVENT")}
    assert planned and set(planned) <= summaries

    receiver = Recorder()
    try:
        assert client.login("admin@exemple.org", "admin-demo-2026").status_code == 302
        page = client.form("/admin/webhooks/new", {
            "url": receiver.url + "/travaux", "description": "Panel client",
            "event_types": ["incident.updated"], "enabled": "y"})
        assert page.status_code == 200, page.get_data(as_text=True)[:400]
        from board.travaux.outbound import WebhookEndpoint

        secret = db.session.scalar(select(WebhookEndpoint.secret))
        assert secret in page.get_data(as_text=True)  # shown once, to be copied
        ongoing = db.session.scalar(select(Incident).where(
            Incident.kind == "incident", Incident.resolved_at.is_(None)))
        posted = client.form(f"/travaux/incidents/{ongoing.id}/updates", {
            "status": "identified", "message": "Le disque fautif est remplacé."})
        assert posted.status_code == 302
        assert runner.invoke(args=["worker", "--once"]).exit_code == 0
        [request] = receiver.wait_for(1)
        assert verify(secret, request.headers, request.body)
        document = request.json()
        assert document["type"] == "incident.updated"
        assert document["data"]["incident"]["id"] == ongoing.id
        assert document["data"]["update"]["message"] == "Le disque fautif est remplacé."
    finally:
        receiver.close()


def test_the_demo_shows_a_solved_help_thread_and_unread_threads(app, client, runner):
    """Issue 15: a help thread solved in its board; Membre 1 has new messages to read."""
    runner.invoke(args=["demo"])
    board = client.get("/boards/hebergement-web").get_data(as_text=True)
    assert "Certificat Let's Encrypt non renouvelé" in board.replace("&#39;", "'")
    assert "badge-solved" in board
    client.login("membre1@exemple.org", "membre-demo-2026")
    board = client.get("/boards/hebergement-web").get_data(as_text=True)
    assert "nouveaux messages" in board and "badge-new" in board


def test_the_demo_shows_flagged_posts_in_the_moderation_queue(app, client, runner):
    """Issue 15: from `make run`, a flagged post reaches the moderation queue; members have
    profiles with a bio."""
    from board.demo import MODERATOR

    assert runner.invoke(args=["demo"]).exit_code == 0
    client.login(MODERATOR[0], MODERATOR[2])
    home = client.get("/").get_data(as_text=True)
    assert 'aria-label="2 messages en attente">2</span>' in home
    queue = client.get("/moderation/queue").get_data(as_text=True)
    assert "PROMO70" in queue and "Masqué par les signalements" in queue
    assert "Rien à voir avec la question posée." in queue
    sophie = db.session.scalar(select(User).where(User.name == "Sophie M."))
    profile = client.get(f"/members/{sophie.id}-sophie-m").get_data(as_text=True)
    assert "<strong>WordPress</strong>" in profile
