"""The permission matrix: every member and staff route, as guest, member, moderator, admin.

Guests are sent to the login page; logged-in users without the role get a 403 with the
French message; users with the role send valid data and get exactly the page (200) or the
redirect after the action (302): a 422 there would be a form the matrix got wrong, or a bug.
"""

import pytest
from sqlalchemy import select

from board.extensions import db
from board.forum.models import Post
from tests.factories import PASSWORD, make_board, make_thread, make_user

ROLES = ["guest", "member", "moderator", "admin"]
NEW_PASSWORD = "un tout nouveau mot de passe"
BOARD = {"name": "Nouveau tableau", "slug": "nouveau-tableau", "description": "Pour tous",
         "position": "3", "visibility": "public"}

# (method, path template, minimum role, valid data); {thread}, {post}, {board}, {board_id},
# {author} and {other} (a second board's id) are filled in. GET answers 200, POST 302.
ROUTES = [
    ("GET", "/account", "member", None),
    ("POST", "/account/profile", "member", {"name": "Nouveau Nom", "locale": "fr"}),
    ("POST", "/account/email", "member", {"email": "nouvelle@example.org",
                                          "password": PASSWORD}),
    ("POST", "/account/password", "member", {"current": PASSWORD, "password": NEW_PASSWORD,
                                             "confirm": NEW_PASSWORD}),
    ("GET", "/boards/{board}/new", "member", None),
    ("POST", "/boards/{board}/new", "member", {"title": "Un titre", "body": "Un message"}),
    ("POST", "/threads/{thread}/reply", "member", {"body": "Un message"}),
    ("GET", "/posts/{post}/edit", "moderator", None),
    ("POST", "/posts/{post}/edit", "moderator", {"body": "Un message corrigé"}),
    ("POST", "/posts/{post}/hide", "moderator", {}),
    ("POST", "/posts/{post}/unhide", "moderator", {}),
    ("POST", "/threads/{thread}/lock", "moderator", {}),
    ("POST", "/threads/{thread}/unlock", "moderator", {}),
    ("POST", "/threads/{thread}/pin", "moderator", {}),
    ("POST", "/threads/{thread}/unpin", "moderator", {}),
    ("POST", "/threads/{thread}/hide", "moderator", {}),
    ("POST", "/threads/{thread}/unhide", "moderator", {}),
    ("POST", "/threads/{thread}/move", "moderator", {"board": "{other}"}),
    ("GET", "/moderation", "moderator", None),
    ("GET", "/admin/boards", "admin", None),
    ("GET", "/admin/boards/new", "admin", None),
    ("POST", "/admin/boards/new", "admin", BOARD),
    ("GET", "/admin/boards/{board_id}", "admin", None),
    ("POST", "/admin/boards/{board_id}", "admin", BOARD),
    ("GET", "/admin/users", "admin", None),
    ("POST", "/admin/users/{author}", "admin", {"role": "moderator"}),
]
RANK = {"guest": 0, "member": 1, "moderator": 2, "admin": 3}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, template, minimum, data", ROUTES,
                         ids=[f"{m} {t}" for m, t, _, _ in ROUTES])
def test_permission_matrix(client, role, method, template, minimum, data):
    board, other = make_board(), make_board()
    # The post belongs to someone else: members may not touch it.
    author = make_user()
    thread = make_thread(board=board, author=author, replies=1)
    post = db.session.scalar(select(Post).order_by(Post.id.desc()))
    names = {"board": board.slug, "thread": thread.id, "post": post.id, "board_id": board.id,
             "author": author.id, "other": other.id}
    path = template.format(**names)
    if role != "guest":
        user = make_user(role=role)
        assert client.login(user.email).status_code == 302

    def send(form):
        if method == "GET":
            return client.get(path)
        return client.form(path, {key: value.format(**names) for key, value in form.items()})

    if RANK[role] >= RANK[minimum]:
        response = send(data)
        assert response.status_code == (200 if method == "GET" else 302), response.data[:500]
        if method == "POST":
            assert not response.headers["Location"].startswith("/login")
        return
    # Denied whatever the form holds: the right is checked before the data (no 422 or 400).
    for form in (data, {}) if method == "POST" else (None,):
        response = send(form)
        if role == "guest":
            assert response.status_code == 302, form
            assert response.headers["Location"].startswith("/login?next="), form
        else:
            assert response.status_code == 403, (form, response.data[:300])
            assert "pas autorisé" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/boards/{board}", "/threads/{thread}", "/login",
                                  "/register", "/reset"])
def test_public_pages_open_to_guests(client, path):
    board = make_board()
    thread = make_thread(board=board)
    response = client.get(path.format(board=board.slug, thread=thread.id),
                          follow_redirects=True)
    assert response.status_code == 200


def test_member_may_edit_and_hide_own_post(client):
    author = make_user()
    thread = make_thread(author=author, replies=1)
    reply = db.session.scalar(select(Post).order_by(Post.id.desc()))
    client.login(author.email)
    assert client.get(f"/posts/{reply.id}/edit").status_code == 200
    assert client.form(f"/posts/{reply.id}/hide").status_code == 302
    assert client.form(f"/posts/{reply.id}/unhide").status_code == 403
    # Hidden by its author, and it stays hidden: the member could not undo a moderation.
    assert db.session.get(Post, reply.id).hidden_at is not None
    db.session.refresh(thread)
    assert thread.post_count == 1
