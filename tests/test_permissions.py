"""The permission matrix: every member and staff route, as guest, member, moderator, admin.

Guests are sent to the login page; logged-in users without the role get a 403; users with
the role get through (a page, or a redirect after the action).
"""

import pytest
from sqlalchemy import select

from board.extensions import db
from board.forum.models import Post
from tests.factories import make_board, make_thread, make_user

ROLES = ["guest", "member", "moderator", "admin"]

# (method, path template, minimum role); {thread}, {post}, {board}, {other} are filled in.
ROUTES = [
    ("GET", "/account", "member"),
    ("POST", "/account/profile", "member"),
    ("POST", "/account/email", "member"),
    ("POST", "/account/password", "member"),
    ("GET", "/boards/{board}/new", "member"),
    ("POST", "/boards/{board}/new", "member"),
    ("POST", "/threads/{thread}/reply", "member"),
    ("GET", "/posts/{post}/edit", "moderator"),
    ("POST", "/posts/{post}/edit", "moderator"),
    ("POST", "/posts/{post}/hide", "moderator"),
    ("POST", "/posts/{post}/unhide", "moderator"),
    ("POST", "/threads/{thread}/lock", "moderator"),
    ("POST", "/threads/{thread}/unlock", "moderator"),
    ("POST", "/threads/{thread}/pin", "moderator"),
    ("POST", "/threads/{thread}/unpin", "moderator"),
    ("POST", "/threads/{thread}/hide", "moderator"),
    ("POST", "/threads/{thread}/unhide", "moderator"),
    ("POST", "/threads/{thread}/move", "moderator"),
    ("GET", "/moderation", "moderator"),
    ("GET", "/admin/boards", "admin"),
    ("GET", "/admin/boards/new", "admin"),
    ("POST", "/admin/boards/new", "admin"),
    ("GET", "/admin/boards/{board_id}", "admin"),
    ("POST", "/admin/boards/{board_id}", "admin"),
    ("GET", "/admin/users", "admin"),
    ("POST", "/admin/users/{author}", "admin"),
]
RANK = {"guest": 0, "member": 1, "moderator": 2, "admin": 3}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, template, minimum", ROUTES,
                         ids=[f"{m} {t}" for m, t, _ in ROUTES])
def test_permission_matrix(client, role, method, template, minimum):
    board, other = make_board(), make_board()
    # The post belongs to someone else: members may not touch it.
    author = make_user()
    thread = make_thread(board=board, author=author, replies=1)
    post = db.session.scalar(select(Post).order_by(Post.id.desc()))
    path = template.format(board=board.slug, thread=thread.id, post=post.id, board_id=board.id,
                           author=author.id)
    if role != "guest":
        user = make_user(role=role)
        assert client.login(user.email).status_code == 302
    data = {"board": other.id, "body": "Un message", "title": "Un titre", "name": "New Name",
            "slug": "new-board", "role": "member", "visibility": "public", "position": "3"}
    response = client.form(path, data) if method == "POST" else client.get(path)

    if role == "guest":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    elif RANK[role] < RANK[minimum]:
        assert response.status_code == 403
        assert "pas autorisé" in response.get_data(as_text=True)
    else:
        assert response.status_code in (200, 302, 422), response.data[:300]


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
