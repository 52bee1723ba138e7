"""The preview: the reply and new-thread forms' text rendered as it will be published
(board/markup.py), stored nowhere, behind CSRF and a rate limit; without JavaScript, the form
shown again with its text and the preview."""

import pytest
from sqlalchemy import func, select

from board.extensions import db
from board.forum.drafts import Draft
from board.forum.forms import BODY_MAX
from board.forum.models import Post, Thread
from board.markup import render
from tests.factories import make_board, make_thread


def counts():
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Thread, Post, Draft))


def test_the_preview_renders_as_a_published_post(client, login_as):
    login_as()
    source = "Bonjour **tous**\n\n- un\n- deux\n\n<script>alert(1)</script> [lien](javascript:x)"
    response = client.form("/preview", {"body": source})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert render(source) in html
    assert "<strong>tous</strong>" in html and "<li>un</li>" in html
    assert "<script>" not in html and "href=\"javascript" not in html
    # The same text published gives the same HTML.
    thread = make_thread()
    post = client.form(f"/threads/{thread.id}/reply", {"body": source})
    assert post.status_code == 302
    assert db.session.scalar(select(Post.body_html).order_by(Post.id.desc())) in html


def test_the_preview_stores_nothing(client, login_as):
    login_as()
    thread = make_thread()
    before = counts()
    client.form("/preview", {"body": "Rien *ne* reste"})
    client.form(f"/threads/{thread.id}/reply/preview", {"body": "Rien *ne* reste"})
    client.form(f"/boards/{thread.board.slug}/new/preview", {"title": "T", "body": "Rien"})
    assert counts() == before


def test_an_empty_preview_says_so(client, login_as):
    login_as()
    html = client.form("/preview", {"body": ""}).get_data(as_text=True)
    assert "Rien à prévisualiser" in html


def test_a_text_too_long_is_not_previewed(client, login_as):
    login_as()
    response = client.form("/preview", {"body": "x" * (BODY_MAX + 1)})
    assert response.status_code == 422
    assert "trop long" in response.get_data(as_text=True)


def test_the_preview_needs_the_csrf_token(client, login_as):
    login_as()
    assert client.post("/preview", data={"body": "x"}).status_code == 400


def test_guests_get_no_preview(client):
    response = client.form("/preview", {"body": "x"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_preview_is_rate_limited(client, login_as):
    login_as()
    codes = [client.form("/preview", {"body": f"v{n}"}).status_code for n in range(31)]
    assert codes == [200] * 30 + [429]


def test_without_javascript_the_reply_form_comes_back_with_its_preview(client, login_as):
    login_as()
    thread = make_thread()
    response = client.form(f"/threads/{thread.id}/reply/preview",
                           {"body": "Mon **texte** gardé", "preview": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Mon **texte** gardé" in page  # in the textarea, to go on writing
    assert "<strong>texte</strong>" in page  # and rendered, in the preview pane
    assert f'action="/threads/{thread.id}/reply"' in page  # publishing is one click away


def test_without_javascript_the_new_thread_form_keeps_title_and_text(client, login_as):
    login_as()
    board = make_board(slug="hebergement")
    response = client.form("/boards/hebergement/new/preview",
                           {"title": "Mon site est lent", "body": "*Très* lent"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="Mon site est lent"' in page and "*Très* lent" in page
    assert "<em>Très</em>" in page
    assert f'action="/boards/{board.slug}/new"' in page
    # Previewing before the title is written is no mistake to point at.
    page = client.form("/boards/hebergement/new/preview", {"body": "Texte"}).get_data(
        as_text=True)
    assert "Veuillez corriger" not in page


@pytest.mark.parametrize("path", ["/threads/{id}/reply/preview", "/boards/{slug}/new/preview"])
def test_no_preview_page_for_what_one_may_not_see(client, login_as, path):
    login_as()
    thread = make_thread(board=make_board(visibility="staff"))
    response = client.form(path.format(id=thread.id, slug=thread.board.slug), {"body": "x"})
    assert response.status_code == 404


def test_the_forms_offer_the_preview(client, login_as):
    login_as()
    thread = make_thread()
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f'formaction="/threads/{thread.id}/reply/preview"' in page
    assert "Prévisualiser" in page and "drafts.js" in page
    page = client.get(f"/boards/{thread.board.slug}/new").get_data(as_text=True)
    assert f'formaction="/boards/{thread.board.slug}/new/preview"' in page
