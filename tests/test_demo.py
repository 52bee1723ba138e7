"""`flask demo`: what `make run` shows a newcomer, loaded into an empty database only."""

from sqlalchemy import func, select

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
