"""The search box in every page's header and the OpenSearch link in its head, except where
the page must stand alone: the static Travaux export and the database-down page."""

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from board import create_app
from board.travaux.export import export
from tests.conftest import TEST_CONFIG
from tests.factories import make_thread

BOX = 'class="header-search" role="search"'
OPENSEARCH = 'rel="search" type="application/opensearchdescription+xml"'


@pytest.mark.parametrize("path", ["/", "/travaux/", "/lists/", "/login", "/search",
                                  "/search?q=panne"])
def test_every_page_has_the_box_and_the_opensearch_link(client, path):
    page = client.get(path).get_data(as_text=True)
    assert BOX in page and OPENSEARCH in page


def test_a_thread_page_has_the_box_too(client):
    thread = make_thread(title="Panne", body="Une panne.")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert BOX in page


def test_the_search_page_keeps_the_words_in_the_header_box(client):
    page = client.get("/search", query_string={"q": "panne <b>"}).get_data(as_text=True)
    assert 'id="header-q" name="q"' in page
    assert 'value="panne &lt;b&gt;"' in page


def test_the_static_export_has_neither(app, tmp_path):
    export(tmp_path / "site")
    pages = list(Path(tmp_path / "site").resolve().rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert BOX not in text and OPENSEARCH not in text and "/search" not in text


def test_the_database_down_page_has_neither(database_url):
    failing = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                          "PROPAGATE_EXCEPTIONS": False, "TESTING": False})

    @failing.get("/_db_down")
    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    response = failing.test_client().get("/_db_down")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert BOX not in page and OPENSEARCH not in page
