"""Admins manage boards and members; every change is in the audit log."""

from sqlalchemy import select

from board.accounts.models import User
from board.audit import AuditLog
from board.extensions import db
from board.forum.models import Board
from tests.factories import make_board, make_user


def test_admin_creates_and_edits_a_board(client, login_as):
    login_as("admin")
    response = client.form("/admin/boards/new", {
        "name": "Bases de données", "slug": "bases-de-donnees", "description": "MySQL",
        "position": "4", "visibility": "staff"})
    assert response.status_code == 302
    board = db.session.scalar(select(Board).where(Board.slug == "bases-de-donnees"))
    assert board.visibility == "staff" and board.position == 4
    client.form(f"/admin/boards/{board.id}", {
        "name": "Bases de données", "slug": "bdd", "description": "MySQL et PostgreSQL",
        "position": "4", "visibility": "public"})
    db.session.expire_all()
    board = db.session.get(Board, board.id)
    assert (board.slug, board.visibility) == ("bdd", "public")
    assert [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))] == \
        ["board.create", "board.update"]


def test_board_address_must_be_unique_and_well_formed(client, login_as):
    make_board(slug="mail")
    login_as("admin")
    taken = client.form("/admin/boards/new", {"name": "Mail 2", "slug": "mail",
                                              "position": "1", "visibility": "public"})
    assert taken.status_code == 422 and "déjà" in taken.get_data(as_text=True)
    bad = client.form("/admin/boards/new", {"name": "X", "slug": "Pas Bon!",
                                            "position": "1", "visibility": "public"})
    assert bad.status_code == 422
    assert db.session.scalar(select(db.func.count(Board.id))) == 1


def test_admin_changes_a_role_and_disables_an_account(app, client, login_as):
    member = make_user(name="Marc O.")
    other = app.test_client()
    other.login(member.email)
    login_as("admin")
    assert "Marc O." in client.get("/admin/users?q=marc").get_data(as_text=True)
    client.form(f"/admin/users/{member.id}", {"role": "moderator"})
    client.form(f"/admin/users/{member.id}", {"role": "moderator", "disabled": "y"})
    db.session.expire_all()
    member = db.session.get(User, member.id)
    assert member.role == "moderator" and member.disabled_at is not None
    # The disabled member's session ended at once.
    assert other.get("/account").status_code == 302
    assert [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))] == \
        ["user.role", "user.disable"]


def test_admin_cannot_demote_themselves(client, login_as):
    admin = login_as("admin")
    response = client.form(f"/admin/users/{admin.id}", {"role": "member"}, follow_redirects=True)
    assert "propre" in response.get_data(as_text=True)
    assert db.session.get(User, admin.id).role == "admin"
