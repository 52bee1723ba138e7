"""The platform when its database is gone or broken: the styled 503 page for everyone, guests
and logged-in members alike, a JSON 503 for the API, and not one query while drawing them."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from board import create_app
from board.extensions import db
from tests.conftest import TEST_CONFIG
from tests.factories import make_thread, make_user
from tests.travaux.test_export import Proxy

PUBLIC = "https://etat.example.org"
PAGES = ("/", "/travaux/", "/account", "/boards/x", "/login", "/moderation")


def _app_on(url):
    return create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                       "TRAVAUX_PUBLIC_URL": PUBLIC, "TESTING": False})


def _as_member(live_client, outage_client, role="member"):
    """Log in on the live platform and carry the session cookie over to the outage one:
    sessions are signed cookies, any process serves any user."""
    user = make_user(role=role)
    assert live_client.login(user.email).status_code == 302
    outage_client.set_cookie("session", live_client.get_cookie("session").value)
    return user


@pytest.fixture
def outage(app, database_url, tmp_path):
    """An application whose database is cut off for real: on PostgreSQL a proxy that stops
    forwarding (pooled sessions dropped), on SQLite a database file out of reach."""
    if not database_url.startswith("postgresql"):
        yield _app_on(f"sqlite:///{tmp_path / 'mount' / 'board.sqlite3'}")
        return
    url = make_url(database_url)
    proxy = Proxy(url.port or 5432)
    proxy.start()
    down = _app_on(url.set(host="127.0.0.1", port=proxy.port)
                   .render_as_string(hide_password=False))
    assert down.test_client().get("/").status_code == 200  # a pooled connection, then cut
    proxy.stop()
    try:
        yield down
    finally:
        with down.app_context():
            db.engine.dispose()


@pytest.fixture
def corrupt(app, database_url, tmp_path):
    """An application on a copy of the SQLite database whose header is garbage."""
    if not database_url.startswith("sqlite"):
        pytest.skip("a database file only exists on SQLite")
    db.session.commit()
    copy = tmp_path / "corrupt.sqlite3"
    shutil.copyfile(Path(database_url.removeprefix("sqlite:///")), copy)
    with copy.open("r+b") as file:
        file.write(b"this is no database, only garbage " * 40)
    return _app_on(f"sqlite:///{copy}")


def _queries(app):
    """Every statement the application tries to send, failed ones included."""
    sent = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    return sent


def assert_styled_503(response, path):
    page = response.get_data(as_text=True)
    assert response.status_code == 503, (path, page[:300])
    assert 'class="site-header"' in page and "Service indisponible" in page, (path, page[:300])
    assert f'href="{PUBLIC}"' in page and "site de statut indépendant" in page, path
    assert "Traceback" not in page


def test_a_logged_in_member_gets_the_styled_503_page(client, outage):
    down = outage.test_client()
    _as_member(client, down)
    for path in PAGES:
        response = down.get(path)
        assert_styled_503(response, path)
        page = response.get_data(as_text=True)
        # Drawn without the account menu, the staff bar or the banner of operations.
        assert "Se déconnecter" not in page and "staff-bar" not in page


def test_a_logged_in_admin_gets_the_styled_503_page_in_english(client, outage):
    down = outage.test_client()
    _as_member(client, down, role="admin")
    response = down.get("/travaux/", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert '<html lang="en">' in page and "Service unavailable" in page
    assert f'href="{PUBLIC}"' in page and "staff-bar" not in page


def test_the_status_api_answers_a_json_503_during_an_outage(client, outage):
    down = outage.test_client()
    for who in ("guest", "member"):
        if who == "member":
            _as_member(client, down)
        response = down.get("/api/v1/status")
        assert response.status_code == 503, who
        assert response.is_json and response.get_json()["error"] == "unavailable", who


@pytest.mark.parametrize("who", ["guest", "member"])
def test_the_503_page_sends_no_query_after_the_failure(client, outage, who):
    down = outage.test_client()
    if who == "member":
        _as_member(client, down)
    sent = _queries(outage)
    for path in ("/", "/travaux/"):
        sent.clear()
        assert_styled_503(down.get(path), path)
        # At most the one statement that failed; nothing while drawing the page (no banner).
        assert len(sent) <= 1, sent


def test_a_corrupt_sqlite_file_gives_the_styled_503_page(client, corrupt):
    make_thread(title="Mon site est lent")
    broken = corrupt.test_client()
    for path in ("/", "/travaux/", "/threads/1", "/login"):
        assert_styled_503(broken.get(path), path)
    _as_member(client, broken)
    assert_styled_503(broken.get("/"), "/ (member)")
    api = broken.get("/api/v1/status")
    assert api.status_code == 503 and api.get_json()["error"] == "unavailable"
