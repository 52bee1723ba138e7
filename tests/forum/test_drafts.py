"""Drafts: kept on the server while a member types, given back in the form on their return
(in the page itself), one per thread and one per board's new-thread form, dropped when
published or deleted; limited in size and rate; none for guests."""

import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from board.accounts.models import User
from board.extensions import db
from board.forum.drafts import Draft, save_draft
from board.forum.forms import BODY_MAX
from board.forum.models import Thread
from tests.concurrency import run_together
from tests.factories import make_board, make_thread, make_user


def drafts_of(user):
    db.session.rollback()  # see what the requests committed
    return db.session.scalars(select(Draft).where(Draft.user_id == user.id)
                              .order_by(Draft.id)).all()


def textarea(page: str) -> str:
    return re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)


def test_a_reply_draft_is_saved_and_comes_back_in_the_thread_page(client, login_as):
    member = login_as()
    thread = make_thread()
    answer = client.form(f"/drafts/threads/{thread.id}", {"body": "Chez moi *aussi*"})
    assert answer.status_code == 200
    [draft] = drafts_of(member)
    assert draft.body == "Chez moi *aussi*"
    # The time of the save, in the member's zone (Paris by default).
    at = draft.saved_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
    assert answer.json == {"saved": True, "status": f"Brouillon enregistré à {at}"}
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert textarea(page).strip() == "Chez moi *aussi*"
    assert f"Brouillon enregistré à {at}" in page
    assert "Supprimer le brouillon" in page


def test_saving_again_keeps_one_draft_per_thread(client, login_as):
    member = login_as()
    first, second = make_thread(), make_thread()
    for text in ("Un", "Un deux", "Un deux trois"):
        client.form(f"/drafts/threads/{first.id}", {"body": text})
    client.form(f"/drafts/threads/{second.id}", {"body": "Ailleurs"})
    assert sorted(d.body for d in drafts_of(member)) == ["Ailleurs", "Un deux trois"]


def test_publishing_the_reply_drops_its_draft_only(client, login_as):
    member = login_as()
    thread, other = make_thread(), make_thread()
    client.form(f"/drafts/threads/{thread.id}", {"body": "Brouillon ici"})
    client.form(f"/drafts/threads/{other.id}", {"body": "Brouillon là"})
    assert client.form(f"/threads/{thread.id}/reply", {"body": "Publié"}).status_code == 302
    assert [d.thread_id for d in drafts_of(member)] == [other.id]
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert textarea(page).strip() == ""
    assert "Brouillon enregistré" not in page


def test_a_new_thread_draft_is_one_per_board_with_its_title(client, login_as):
    member = login_as()
    board, other = make_board(slug="hebergement"), make_board(slug="messagerie")
    client.form("/drafts/boards/hebergement", {"title": "Site lent", "body": "Depuis ce matin"})
    page = client.get("/boards/hebergement/new").get_data(as_text=True)
    assert 'value="Site lent"' in page
    assert textarea(page).strip() == "Depuis ce matin"
    assert "Brouillon enregistré à" in page
    # The other board's form is its own.
    other_page = client.get("/boards/messagerie/new").get_data(as_text=True)
    assert textarea(other_page).strip() == "" and "Site lent" not in other_page
    response = client.form("/boards/hebergement/new", {
        "title": "Site lent", "body": "Depuis ce matin", "checked": "1"})
    assert response.status_code == 302
    assert drafts_of(member) == []
    assert db.session.scalar(select(func.count(Thread.id)).where(
        Thread.board_id == board.id)) == 1
    assert other.id  # untouched


def test_an_emptied_text_is_no_draft(client, login_as):
    member = login_as()
    thread = make_thread()
    client.form(f"/drafts/threads/{thread.id}", {"body": "Quelque chose"})
    answer = client.form(f"/drafts/threads/{thread.id}", {"body": "   "})
    assert answer.json == {"saved": False, "status": "Aucun brouillon enregistré."}
    assert drafts_of(member) == []


def test_deleting_the_draft_without_javascript_goes_back_to_the_empty_form(client, login_as):
    member = login_as()
    thread = make_thread()
    client.form(f"/drafts/threads/{thread.id}", {"body": "À jeter"})
    response = client.form(f"/drafts/threads/{thread.id}/delete", {"body": "À jeter"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/threads/{thread.id}/{thread.slug}#reply-title")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Le brouillon est supprimé." in page
    assert textarea(page).strip() == ""
    assert drafts_of(member) == []


def test_deleting_the_draft_from_the_script_answers_json(client, login_as):
    member = login_as()
    board = make_board()
    client.form(f"/drafts/boards/{board.slug}", {"title": "Titre", "body": "Corps"})
    response = client.form(f"/drafts/boards/{board.slug}/delete",
                           headers={"Accept": "application/json"})
    assert response.json["saved"] is False
    assert drafts_of(member) == []


def test_a_draft_is_as_long_as_a_post_may_be(client, login_as):
    member = login_as()
    thread = make_thread()
    assert client.form(f"/drafts/threads/{thread.id}", {"body": "x" * BODY_MAX}).status_code == 200
    answer = client.form(f"/drafts/threads/{thread.id}", {"body": "x" * (BODY_MAX + 1)})
    assert answer.status_code == 413
    assert "trop long" in answer.json["status"]
    assert len(drafts_of(member)[0].body) == BODY_MAX  # the last good one is kept


def test_saving_drafts_is_rate_limited(client, login_as):
    login_as()
    thread = make_thread()
    codes = [client.form(f"/drafts/threads/{thread.id}", {"body": f"v{n}"}).status_code
             for n in range(61)]
    assert codes == [200] * 60 + [429]


def test_a_draft_needs_the_csrf_token_and_clean_text(client, login_as):
    member = login_as()
    thread = make_thread()
    assert client.post(f"/drafts/threads/{thread.id}", data={"body": "x"}).status_code == 400
    assert client.post(f"/drafts/threads/{thread.id}/delete").status_code == 400
    # A NUL byte (PostgreSQL text holds none) is refused before it reaches the database.
    assert client.form(f"/drafts/threads/{thread.id}", {"body": "a\x00b"}).status_code == 400
    assert drafts_of(member) == []


@pytest.mark.parametrize("path", ["/drafts/threads/{id}", "/drafts/boards/{slug}",
                                  "/drafts/threads/{id}/delete"])
def test_guests_have_no_drafts(client, path):
    thread = make_thread()
    response = client.form(path.format(id=thread.id, slug=thread.board.slug), {"body": "x"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count(Draft.id))) == 0


def test_no_draft_for_a_thread_one_may_not_see(client, login_as):
    login_as()
    staff_thread = make_thread(board=make_board(visibility="staff"))
    assert client.form(f"/drafts/threads/{staff_thread.id}", {"body": "x"}).status_code == 404
    assert client.form(f"/drafts/boards/{staff_thread.board.slug}",
                       {"body": "x"}).status_code == 404
    assert db.session.scalar(select(func.count(Draft.id))) == 0


def test_a_members_draft_is_theirs_alone(client, login_as):
    writer = make_user()
    thread = make_thread()
    save_draft(writer, "Mon secret en cours", thread=thread)
    login_as()
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Mon secret en cours" not in page
    assert "Brouillon enregistré" not in page


def test_the_thread_page_costs_one_query_for_the_draft(client, login_as):
    # tests/test_queries.py holds the whole budget; here, that a draft costs no more than
    # no draft.
    from tests.test_queries import queries_for

    member = login_as()
    thread, other = make_thread(), make_thread()
    save_draft(member, "Un brouillon", thread=thread)
    assert (queries_for(client, f"/threads/{thread.id}/{thread.slug}")
            == queries_for(client, f"/threads/{other.id}/{other.slug}"))


def test_the_demo_has_a_draft_waiting_and_an_edited_report(client, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    thread = db.session.scalar(select(Thread).where(Thread.title.startswith("Erreur 503")))
    client.login("membre1@exemple.org", "membre-demo-2026")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert textarea(page).strip().startswith("Même chose chez moi depuis 8 h")
    client.logout()
    client.login("moderation@exemple.org", "modo-demo-2026")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f'href="/posts/{thread.first_post_id}/revisions"' in page
    history = client.get(f"/posts/{thread.first_post_id}/revisions").get_data(as_text=True)
    assert "<del>203.0.113.42</del>" in history and "Version d’origine" in history


def test_saves_at_once_end_as_one_draft(app):
    # A keystroke's save and the page's farewell beacon, both at once, many times: one row.
    # PostgreSQL only: SQLite writers take turns (one database lock).
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers")
    member_id, thread_id = make_user().id, make_thread().id
    db.session.commit()

    def save(n):
        user, thread = db.session.get(User, member_id), db.session.get(Thread, thread_id)
        for i in range(10):
            save_draft(user, f"Version {n}.{i}", thread=thread)

    run_together(app, 8, save)
    db.session.expire_all()
    rows = db.session.scalars(select(Draft).where(Draft.user_id == member_id)).all()
    assert len(rows) == 1 and rows[0].body.endswith(".9")
