"""The Travaux permission matrix: every new page and action, as guest, member, moderator, admin.

Guests are sent to the login page; logged-in users without the role get a 403 with the French
message and change nothing; users with the role get exactly the page (200) or the redirect
after the action (302), and the action changes something.
"""

from functools import cached_property

import pytest
from sqlalchemy import func, select

from board.accounts import services as accounts
from board.audit import AuditLog
from board.extensions import db
from board.forum.models import Affected, Post, Thread
from board.travaux.models import Incident, IncidentUpdate, Service
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, make_incident, make_service

ROLES = ["guest", "member", "moderator", "admin"]
RANK = {"guest": 0, "member": 1, "moderator": 2, "admin": 3}

# (method, path template, minimum role, status when allowed); {incident}, {linked} (a thread
# linked to the incident), {thread} (a member's report) and {service} are filled in.
ROUTES = [
    ("GET", "/travaux/incidents/new", "admin", 200),
    ("POST", "/travaux/incidents/new", "admin", 302),
    ("POST", "/travaux/incidents/{incident}/updates", "admin", 302),
    ("POST", "/travaux/incidents/{incident}/link", "admin", 302),
    ("POST", "/travaux/incidents/{incident}/unlink/{linked}", "admin", 302),
    ("GET", "/threads/{thread}/promote", "admin", 200),
    ("POST", "/threads/{thread}/promote", "admin", 302),
    ("GET", "/travaux/services", "admin", 200),
    ("GET", "/travaux/services/new", "admin", 200),
    ("POST", "/travaux/services/new", "admin", 302),
    ("GET", "/travaux/services/{service}", "admin", 200),
    ("POST", "/travaux/services/{service}", "admin", 302),
    ("GET", "/travaux/reports", "moderator", 200),
    ("POST", "/threads/{thread}/affected", "member", 302),
]


def state() -> dict:
    """Everything the routes above may change."""
    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "incidents": count(Incident),
        "updates": count(IncidentUpdate),
        "posts": count(Post),
        "official": count(Post, Post.official),
        "linked": count(Thread, Thread.incident_id.is_not(None)),
        "services": db.session.execute(
            select(Service.slug, Service.name, Service.position).order_by(Service.id)).all(),
        "affected": count(Affected),
        "audit": count(AuditLog),
    }


class World:
    """An incident on a service with a linked report, and an unlinked report by a member;
    each built on first use only, so that every case pays for what it needs."""

    @cached_property
    def admin(self):
        return make_user(role="admin")

    @cached_property
    def service(self):
        return make_service("web", "Hébergement web")

    @cached_property
    def board(self):
        return make_board()

    @cached_property
    def incident(self):
        return make_incident(self.admin, services=[self.service], impact="major")

    @cached_property
    def linked(self):
        thread = make_thread(board=self.board, title="Erreur 503 depuis ce matin")
        link_thread(self.incident, thread, self.admin)
        return thread

    @cached_property
    def thread(self):
        return make_thread(board=self.board, title="Mon site est lent")

    def __getitem__(self, name):
        """The id of a part, for `template.format_map(world)`."""
        return getattr(self, name).id


@pytest.fixture
def world(app):
    return World()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, template, minimum, allowed", ROUTES,
                         ids=[f"{m} {t}" for m, t, _, _ in ROUTES])
def test_permission_matrix(client, world, role, method, template, minimum, allowed):
    path = template.format_map(world)
    data = {"kind": "incident", "title": "Un titre de panne", "impact": "minor",
            "services": [str(world.service.id)], "status": "identified",
            "message": "Un message", "name": "Nouveau service", "slug": "nouveau-service",
            "description": "", "position": "3"}
    if template.endswith("/link"):
        data["thread"] = f"/threads/{world.thread.id}"
    if role != "guest":
        user = make_user(role=role)
        assert client.login(user.email).status_code == 302
    before = state()
    response = client.form(path, data) if method == "POST" else client.get(path)

    if role == "guest":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
        assert state() == before
    elif RANK[role] < RANK[minimum]:
        assert response.status_code == 403
        assert "pas autorisé" in response.get_data(as_text=True)
        assert state() == before
    else:
        assert response.status_code == allowed, response.data[:300]
        if method == "POST":
            assert state() != before, "the action changed nothing"


@pytest.mark.parametrize("path", ["/travaux/", "/travaux/incidents/{incident}",
                                  "/travaux/embed", "/api/v1/status"])
def test_public_pages_open_to_guests(client, world, path):
    assert world.linked  # pages with an ongoing incident and a linked report
    response = client.get(path.format_map(world))
    assert response.status_code == 200


def test_incident_page_of_unknown_incident_is_404(client, world):
    assert client.get(f"/travaux/incidents/{world.incident.id + 1000}").status_code == 404


def test_incident_page_lists_no_staff_thread_to_guests(client, world):
    staff_thread = make_thread(board=make_board(visibility="staff"), title="Note interne")
    link_thread(world.incident, staff_thread, world.admin)
    path = f"/travaux/incidents/{world.incident.id}"
    assert f"/threads/{staff_thread.id}/" not in client.get(path).get_data(as_text=True)
    assert f"/threads/{world.linked.id}/" in client.get(path).get_data(as_text=True)


def test_embed_may_be_framed_but_other_pages_may_not(client, world):
    embed = client.get("/travaux/embed")
    csp = embed.headers["Content-Security-Policy"]
    assert "frame-ancestors" in csp
    assert "frame-ancestors 'none'" not in csp
    assert embed.headers.get("X-Frame-Options") != "DENY"
    home = client.get("/")
    assert home.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]
    status = client.get("/travaux/")
    assert status.headers["X-Frame-Options"] == "DENY"


def test_member_can_neither_promote_nor_post_updates(client, world):
    member = make_user()
    incident, thread = world.incident, world.thread
    assert client.login(member.email).status_code == 302
    before = state()
    form = {"kind": "incident", "title": "Panne générale", "impact": "critical",
            "services": [str(world.service.id)], "message": "Tout est cassé.",
            "status": "resolved"}
    assert client.get(f"/threads/{thread.id}/promote").status_code == 403
    assert client.form(f"/threads/{thread.id}/promote", form).status_code == 403
    assert client.form(f"/travaux/incidents/{incident.id}/updates", form).status_code == 403
    assert client.form("/travaux/incidents/new", form).status_code == 403
    assert state() == before

    # Nor through the API, with a token of their own.
    token = accounts.create_token(member)
    before = state()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(f"/api/v1/incidents/{incident.id}/updates", headers=headers,
                           json={"status": "resolved", "message": "Tout est cassé."})
    assert response.status_code == 403 and "error" in response.get_json()
    response = client.post("/api/v1/incidents", headers=headers,
                           json={"title": "Panne générale", "services": ["web"],
                                 "message": "Tout est cassé."})
    assert response.status_code == 403 and "error" in response.get_json()
    assert state() == before
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).incident_id is None
    assert db.session.get(Incident, incident.id).status == "investigating"
