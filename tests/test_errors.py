"""Error pages: in the site's look and language, never a traceback."""

import pytest
from flask import abort

from board import create_app
from tests.conftest import TEST_CONFIG


@pytest.fixture(scope="module")
def failing_app(database_url):
    """An app with routes that fail on purpose, to see every error page."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "PROPAGATE_EXCEPTIONS": False, "TESTING": False})

    @app.get("/_fail/<int:code>")
    def fail(code):
        abort(code)

    @app.get("/_crash")
    def crash():
        raise RuntimeError("secret internal detail")

    @app.get("/_db_down")
    def db_down():
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    @app.get("/_db_bug")
    def db_bug():
        from sqlalchemy.exc import IntegrityError

        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    return app


@pytest.mark.parametrize("code, title", [
    (400, "Requête incorrecte"), (403, "Accès refusé"), (404, "Page introuvable"),
    (405, "Méthode non autorisée"), (413, "Trop volumineux"), (429, "Trop de requêtes"),
    (500, "Erreur du serveur"), (503, "Service indisponible"),
])
def test_error_pages_in_french_and_english(failing_app, code, title):
    client = failing_app.test_client()
    response = client.get(f"/_fail/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == code
    assert title in page and 'class="site-header"' in page
    english = client.get(f"/_fail/{code}", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_crash_shows_no_traceback(failing_app):
    response = failing_app.test_client().get("/_crash")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in page and "secret internal detail" not in page
    assert "Erreur du serveur" in page


def test_database_failure_is_a_503_page(failing_app):
    response = failing_app.test_client().get("/_db_down")
    assert response.status_code == 503
    assert "connection refused" not in response.get_data(as_text=True)


def test_a_database_bug_is_a_styled_500_not_an_outage(failing_app):
    response = failing_app.test_client().get("/_db_bug")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Erreur du serveur" in page and 'class="site-header"' in page
    assert "UNIQUE" not in page and "site de statut indépendant" not in page


def test_wrong_method_is_a_405_with_allow(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    from board.config import _secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = _secret_key(str(tmp_path))
    assert len(first) == 64 and _secret_key(str(tmp_path)) == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_sqlite_runs_in_wal_with_foreign_keys(app):
    from board.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_huge_ids_in_addresses_are_404_not_500(client):
    for path in ("/threads/99999999999999999999", "/posts/99999999999999999999",
                 "/travaux/incidents/99999999999999999999",
                 "/threads/99999999999999999999/feed.rss"):
        assert client.get(path).status_code == 404, path
