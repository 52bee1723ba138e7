"""Requests beyond what any page serves get a clean 4xx on every database, never a 500:
page numbers no OFFSET can hold, NUL bytes (which PostgreSQL text cannot store)."""

import pytest

from board.extensions import db
from board.lists import services as lists
from tests.factories import make_board, make_thread

HUGE = str(10**25)


@pytest.fixture
def pages(app):
    """The address of every paginated page, with what it needs to exist."""
    board = make_board(slug="hebergement")
    thread = make_thread(board=board)
    admin_message = lists.compose(lists.get_list("informations"), thread.author, "Bonjour", "Oui")
    db.session.commit()
    assert admin_message.id
    return {"board": "/boards/hebergement", "thread": f"/threads/{thread.id}/{thread.slug}",
            "archive": "/lists/informations/", "status": "/travaux/",
            "moderation": "/moderation", "users": "/admin/users"}


PAGED = ["board", "thread", "archive", "status", "moderation", "users"]


@pytest.mark.parametrize("name", PAGED)
@pytest.mark.parametrize("query", [f"page={HUGE}", f"per_page={HUGE}", "page=1000001",
                                   f"page=2&per_page={HUGE}", "page=-" + HUGE])
def test_a_page_number_beyond_any_page_is_a_404(client, login_as, pages, name, query):
    login_as("admin")
    assert client.get(pages[name]).status_code == 200
    response = client.get(f"{pages[name]}?{query}")
    assert response.status_code == 404, response.data[:300]


@pytest.mark.parametrize("name", PAGED)
def test_the_page_after_the_last_is_a_404_and_a_real_page_is_served(client, login_as, pages,
                                                                    name):
    login_as("admin")
    assert client.get(f"{pages[name]}?page=1").status_code == 200
    assert client.get(f"{pages[name]}?page=1000").status_code == 404


@pytest.mark.parametrize("path", [
    "/boards/heberge%00ment", "/lists/informations%00/", "/threads/1/a%00b",
    "/boards/hebergement?page=1%00", "/admin/users?q=%00",
    "/travaux/feed.rss?service=web%00", "/lists/unsubscribe/abc%00def",
    "/static/board%00.css",
])
def test_a_nul_byte_in_the_address_is_a_400(client, login_as, pages, path):
    login_as("admin")
    response = client.get(path)
    assert response.status_code == 400, response.data[:300]
    assert "Requête incorrecte" in response.get_data(as_text=True)


@pytest.mark.parametrize("path, data", [
    ("/login", {"email": "a\x00@example.org", "password": "x"}),
    ("/register", {"email": "n@example.org", "name": "Nul\x00", "password": "p" * 12}),
    ("/lists/", {"email": "a@example.org\x00", "lists": ["travaux"]}),
    ("/lists/unsubscribe/abc", {"List-Unsubscribe": "One-Click\x00"}),
])
def test_a_nul_byte_in_a_form_is_a_400_and_changes_nothing(client, path, data):
    response = client.form(path, data)
    assert response.status_code == 400, response.data[:300]


def test_a_nul_byte_in_a_file_name_is_a_400(client):
    from io import BytesIO

    response = client.form("/lists/", {"email": "a@example.org", "lists": ["travaux"],
                                       "attachment": (BytesIO(b"x"), "a\x00.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 400


def test_a_nul_byte_in_a_raw_body_is_a_400(client):
    response = client.post("/api/v1/incidents", data=b'{"title": "a\x00"}',
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
