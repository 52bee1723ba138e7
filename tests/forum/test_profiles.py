"""Members' profiles: /members/<id>-<slug>, what each viewer learns there, the avatar, the
bio, and the last visit staff read."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from board.accounts.models import User
from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.forum.members import profile_path
from board.forum.models import Post
from board.forum.profiles import avatar, colour, initials
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user


def text(response) -> str:
    return response.get_data(as_text=True)


def test_a_profile_shows_name_avatar_role_and_what_the_member_wrote(client):
    member = make_user(name="Élodie Martin")
    thread = make_thread(author=member, title="Mon site affiche une erreur 500", replies=2)
    page = client.get(profile_path(member))
    assert page.status_code == 200
    html = text(page)
    assert "<h1>Élodie Martin</h1>" in html
    assert 'aria-label="Avatar de Élodie Martin"' in html and ">ÉM</text>" in html
    assert "Membre" in html and "Membre depuis" in html
    assert "3 messages" in html
    assert "Mon site affiche une erreur 500" in html
    assert f"/threads/{thread.id}/" in html


def test_a_wrong_or_missing_slug_redirects_and_an_unknown_member_is_404(client):
    member = make_user(name="Karim B.")
    for wrong in (f"/members/{member.id}", f"/members/{member.id}-someone-else"):
        response = client.get(wrong)
        assert response.status_code == 301
        assert response.headers["Location"].endswith(f"/members/{member.id}-karim-b")
    assert client.get("/members/999999-nobody").status_code == 404
    assert client.get("/members/abc").status_code == 404


def test_an_unconfirmed_account_has_no_profile_but_for_staff(client, login_as):
    newcomer = make_user(confirmed=False)
    assert client.get(profile_path(newcomer)).status_code == 404
    login_as("member")
    assert client.get(profile_path(newcomer)).status_code == 404
    client.logout()
    login_as("moderator")
    assert client.get(profile_path(newcomer)).status_code == 200


@pytest.mark.parametrize("viewer", ["guest", "member"])
def test_a_profile_never_tells_of_staff_only_or_hidden_content(client, login_as, viewer):
    member = make_user(name="Julien D.")
    make_thread(author=member, title="Sujet public visible")
    make_thread(board=make_board(visibility="staff"), author=member,
                title="Sujet du coin équipe")
    hidden = make_thread(author=member, title="Sujet masqué par la modération")
    moderator = make_user(role="moderator")
    forum.hide_thread(hidden, moderator)
    public = make_thread(title="Sujet public autre")
    reply = forum.reply(public, member, "Réponse masquée ensuite")
    forum.hide_post(reply, moderator)
    if viewer == "member":
        login_as("member")
    html = text(client.get(profile_path(member)))
    assert "Sujet public visible" in html
    for secret in ("coin équipe", "masqué par la modération", "Réponse masquée"):
        assert secret not in html
    # One post they may see: the first of the public thread.
    assert "1 message<" in html and "4 messages" not in html
    assert member.email not in html
    assert "Historique de modération" not in html


def test_staff_see_email_confirmation_last_visit_and_moderation_history(client, login_as):
    member = make_user(name="Nadia K.")
    thread = make_thread(author=member, replies=1, title="Sujet de Nadia")
    reply = db.session.scalar(select(Post).where(Post.thread_id == thread.id)
                              .order_by(Post.id.desc()))
    moderator = make_user(role="moderator", name="Luc Modo")
    forum.hide_post(reply, moderator)
    forum.lock(thread, moderator)
    make_thread(board=make_board(visibility="staff"), author=member, title="Sujet interne")
    login_as("moderator")
    html = text(client.get(profile_path(member)))
    assert member.email in html
    assert "Adresse confirmée" in html and "Dernière visite" in html
    assert "Historique de modération" in html
    assert html.count("Luc Modo") >= 2  # the hidden reply and the locked thread
    assert "Sujet interne" in html and "3 messages" in html


def test_a_profile_costs_the_same_queries_however_much_the_member_wrote(client):
    member = make_user()
    make_thread(author=member, replies=5)
    client.get(profile_path(member))
    with count_queries() as few:
        client.get(profile_path(member))
    make_thread(board=make_board(), author=member, replies=15)
    with count_queries() as many:
        assert "22 messages" in text(client.get(profile_path(member)))
    assert len(many) == len(few) <= 8


def test_post_authors_link_to_their_profile_with_their_avatar(client):
    member = make_user(name="Sophie M.")
    thread = make_thread(author=member)
    html = text(client.get(f"/threads/{thread.id}/{thread.slug}"))
    assert f'href="{profile_path(member)}"' in html
    assert 'aria-hidden="true"' in html and ">SM</text>" in html


def test_avatar_initials_and_colour_are_stable_and_need_no_service():
    assert initials("Marie Curie") == "MC"
    assert initials("alice") == "A"
    assert initials("Pierre-Yves G.") == "PY"
    assert initials("") == "?"
    assert colour("Sophie M.") == colour("sophie m.") != colour("Karim B.")
    svg = str(avatar(None, 32))
    assert svg.startswith("<svg") and "http" not in svg.replace("http://www.w3.org", "")


def test_a_member_writes_a_short_sanitized_bio_on_their_account(client, login_as):
    member = login_as("member")
    account = text(client.get("/account"))
    assert 'action="/account/bio"' in account
    response = client.form("/account/bio", {"bio": "J'aime **PHP**. <script>alert(1)</script>"})
    assert response.status_code == 302
    html = text(client.get(profile_path(member)))
    assert "<strong>PHP</strong>" in html and "<script>alert" not in html
    too_long = client.form("/account/bio", {"bio": "x" * 1001})
    assert too_long.status_code == 422 and "1000 caractères au plus" in text(too_long)
    assert client.form("/account/bio", {"bio": ""}).status_code == 302
    assert "PHP" not in text(client.get(profile_path(member)))


def test_a_bio_needs_a_confirmed_member_and_a_csrf_token(client, login_as):
    assert client.form("/account/bio", {"bio": "Salut"}).status_code == 302  # to login
    login_as("member")
    assert client.post("/account/bio", data={"bio": "Salut"}).status_code == 400


def test_a_disabled_account_shows_no_bio(client):
    member = make_user(name="Marc O.")
    from board.forum.profiles import set_bio

    set_bio(member, "Vendez vos sites ici")
    admin = make_user(role="admin")
    from board.accounts import services as accounts

    accounts.set_disabled(db.session.get(User, member.id), True, admin)
    html = text(client.get(profile_path(member)))
    assert "Compte fermé" in html and "Vendez" not in html


def test_last_visit_is_written_at_most_once_per_few_minutes(client, login_as):
    member = login_as("member")
    seen = db.session.get(User, member.id).last_seen_at
    assert seen is not None
    with count_queries() as statements:
        client.get("/")
    assert not any(s.lstrip().upper().startswith("UPDATE USERS") for s in statements)
    with travel(timedelta(minutes=6)):
        client.get("/")
        db.session.expire_all()
        later = db.session.get(User, member.id).last_seen_at
    assert later > seen + timedelta(minutes=5)
