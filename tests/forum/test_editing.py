"""Editing a post: limited like posting, and who may edit an official answer."""

from sqlalchemy import select

from board.audit import AuditLog
from board.extensions import db
from board.forum import services as forum
from tests.factories import make_thread, make_user

EDITS_PER_HOUR = 30


def test_a_member_edits_at_most_30_times_an_hour(client, login_as):
    member = login_as("member")
    post_id = make_thread(author=member).last_post_id
    codes = [client.form(f"/posts/{post_id}/edit", {"title": "Un titre", "body": f"Version {n}"})
             .status_code for n in range(EDITS_PER_HOUR + 1)]
    assert codes == [302] * EDITS_PER_HOUR + [429]
    assert client.get(f"/posts/{post_id}/edit").status_code == 200  # reading is not limited


def test_staff_edits_are_not_limited(client, login_as):
    moderator = login_as("moderator")
    post_id = make_thread(author=moderator).last_post_id
    codes = {client.form(f"/posts/{post_id}/edit", {"title": "Un titre", "body": f"V{n}"})
             .status_code for n in range(EDITS_PER_HOUR + 1)}
    assert codes == {302}


# Who edits what, and saying so ----------------------------------------------------------------

def official_answer(author, thread=None):
    thread = thread or make_thread()
    return forum.reply(thread, author, "Réponse officielle de l'équipe.", official=True)


def test_a_moderator_cannot_edit_an_admins_official_answer(client, login_as):
    post = official_answer(make_user(role="admin"))
    login_as("moderator")
    page = client.get(f"/threads/{post.thread_id}").get_data(as_text=True)
    assert f"/posts/{post.id}/edit" not in page
    assert client.get(f"/posts/{post.id}/edit").status_code == 403
    assert client.form(f"/posts/{post.id}/edit", {"body": "Autre chose"}).status_code == 403
    db.session.refresh(post)
    assert post.body_source == "Réponse officielle de l'équipe."


def test_an_admin_edits_an_official_answer_and_the_post_says_by_whom(client, login_as):
    moderator = make_user(role="moderator")
    post = official_answer(moderator)
    admin = login_as("admin", name="Luc")
    response = client.form(f"/posts/{post.id}/edit", {"body": "Corrigé."}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Corrigé." in page and "modifié par Luc" in page
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "post.edit"))
    assert (entry.actor_id, entry.target_id) == (admin.id, post.id)
    # Its author still edits it, and then it is only "edited".
    client.logout()
    client.login(moderator.email)
    page = client.form(f"/posts/{post.id}/edit", {"body": "Corrigé encore."},
                       follow_redirects=True).get_data(as_text=True)
    assert "modifié par" not in page and "modifié " in page


def test_a_moderators_edit_of_a_members_post_is_shown_and_logged(client, login_as):
    thread = make_thread(replies=1)
    login_as("moderator", name="Luc")
    page = client.form(f"/posts/{thread.last_post_id}/edit", {"body": "Sans l'insulte."},
                       follow_redirects=True).get_data(as_text=True)
    assert "modifié par Luc" in page
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.target_id ==
                                                           thread.last_post_id)) == "post.edit"


def test_an_author_editing_their_post_is_not_named(client, login_as):
    member = login_as("member")
    post_id = make_thread(author=member).last_post_id
    page = client.form(f"/posts/{post_id}/edit", {"title": "Un titre", "body": "V2"},
                       follow_redirects=True).get_data(as_text=True)
    assert "modifié " in page and "modifié par" not in page
