"""Regressions found by reviewing the whole platform: each was a real hole or crash."""

from sqlalchemy import select

from board.accounts.models import ApiToken
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post
from board.lists.models import ListMessage
from board.travaux import services as travaux
from board.travaux.export import export
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import make_service


def test_huge_ids_in_addresses_are_404_not_500(client):
    for path in ("/threads/99999999999999999999", "/posts/99999999999999999999",
                 "/travaux/incidents/99999999999999999999",
                 "/threads/99999999999999999999/feed.rss"):
        assert client.get(path).status_code == 404, path


def test_stray_query_arguments_on_a_thread_are_no_500(client):
    thread = make_thread(title="Sujet")
    for query in ("slug=x", "thread_id=3", "_external=1", "page=2&slug=y"):
        response = client.get(f"/threads/{thread.id}?{query}")
        assert response.status_code == 301, query
        assert "slug" not in response.headers["Location"].split("?")[-1]


def test_showing_a_thread_again_shows_its_first_post_and_feeds_follow(client):
    moderator = make_user(role="moderator")
    thread = make_thread(title="Premier message masqué", body="Texte d'origine")
    first = db.session.scalar(select(Post).where(Post.thread_id == thread.id))
    forum.hide_post(first, moderator)  # hides the whole thread
    assert "Premier message masqué" not in client.get("/feed.rss").get_data(as_text=True)
    forum.hide_thread(thread, moderator, hidden=False)
    db.session.refresh(first)
    assert first.hidden_at is None and thread.post_count == 1
    feed = client.get("/feed.rss").get_data(as_text=True)
    assert "Premier message masqué" in feed and "origine" in feed


def test_travaux_notice_never_links_a_staff_only_report(app, client):
    admin = make_user(role="admin")
    secret = make_thread(board=make_board(visibility="staff"), title="Suivi interne")
    with site_context():
        incident = travaux.promote(secret, admin, kind="incident", title="Panne", impact="minor",
                                   services=[], message="Nous regardons.", notify=True)
    notice = db.session.scalar(select(ListMessage))
    assert f"/threads/{secret.id}" not in notice.body_source
    assert f"/travaux/incidents/{incident.id}" in notice.body_source


def test_maintenance_moving_by_itself_speaks_for_its_author(app):
    from datetime import timedelta

    from board.clock import now, travel

    admin = make_user(role="admin", name="Camille")
    make_board(slug="travaux")
    start = now() + timedelta(hours=1)
    with site_context():
        maintenance = travaux.open_incident(
            admin, kind="maintenance", title="Mise à jour", impact="minor", services=[],
            message="Prévue.", window=(start, start + timedelta(hours=1)))
        with travel(timedelta(hours=1, minutes=5)):
            travaux.follow_windows()
    thread = maintenance.source_thread
    last = db.session.scalar(select(Post).where(Post.thread_id == thread.id)
                             .order_by(Post.id.desc()))
    assert last.official and last.author_id == admin.id


def test_export_banner_is_fresh_within_one_long_lived_app_context(app, tmp_path):
    admin = make_user(role="admin")
    with site_context():
        incident = travaux.open_incident(admin, kind="incident", title="Panne du webmail",
                                         impact="major", services=[make_service("mail")],
                                         message="Nous regardons.")
    export(tmp_path / "site")
    assert "ops-banner" in (tmp_path / "site" / "index.html").read_text()
    with site_context():
        travaux.post_update(incident, admin, "resolved", "Réglé.")
    export(tmp_path / "site")  # the same app context, as in the worker
    assert "ops-banner" not in (tmp_path / "site" / "index.html").read_text()


def test_api_tokens_can_be_revoked(client, runner):
    from board.accounts.services import create_token

    admin = make_user(role="admin")
    token = create_token(admin, "monitoring")
    result = runner.invoke(args=["users", "revoke-tokens", "--email", admin.email])
    assert result.exit_code == 0 and "revoked 1" in result.output
    assert db.session.scalar(select(ApiToken.revoked_at)) is not None
    response = client.post("/api/v1/incidents", json={"title": "x"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_behind_a_proxy_rate_limits_see_each_visitor(database_url):
    from board import create_app
    from tests.conftest import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "TRUSTED_PROXIES": 1})
    seen = {}

    @app.get("/_whoami")
    def whoami():
        from flask import request

        seen["addr"] = request.remote_addr
        return "ok"

    app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen["addr"] == "203.0.113.7"
