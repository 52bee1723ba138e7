"""Promotion of a report, the link both ways, the relay, and "affected too", over HTTP."""

from sqlalchemy import func, select

from board.audit import AuditLog
from board.extensions import db
from board.forum.models import Affected, Post, Thread, Watch
from board.lists.models import ListMessage
from board.travaux import services as travaux
from board.travaux.models import Incident, Service
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user


def add_service(slug="web", name="Hébergement web"):
    service = Service(slug=slug, name=name)
    db.session.add(service)
    db.session.commit()
    return service


def promote(client, thread, service, **extra):
    data = {"kind": "incident", "title": "Erreurs 503 sur web7", "impact": "major",
            "services": [service.id], "message": "Nous enquêtons.", "status": "", **extra}
    return client.form(f"/threads/{thread.id}/promote", data)


def test_admin_promotes_a_report_and_lands_on_the_incident(client, login_as):
    service = add_service()
    report = make_thread(title="Erreur 503 sur mon site", replies=1)
    login_as("admin")
    form = client.get(f"/threads/{report.id}/promote").get_data(as_text=True)
    assert 'value="Erreur 503 sur mon site"' in form
    response = promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/travaux/incidents/{incident.id}"
    assert incident.source_thread_id == report.id and incident.services == [service]
    db.session.refresh(report)
    assert report.incident_id == incident.id
    # The report says so at once, in an official post, and shows the incident box.
    page = client.get(f"/threads/{report.id}", follow_redirects=True).get_data(as_text=True)
    assert 'class="incident-box' in page and "Erreurs 503 sur web7" in page
    assert db.session.scalar(select(func.count(Post.id)).where(Post.official)) == 1
    assert db.session.scalar(select(AuditLog.action)) == "incident.promote"
    # No second discussion thread was opened.
    assert db.session.scalar(select(func.count(Thread.id))) == 1


def test_update_is_relayed_into_every_linked_thread_and_shown_everywhere(client, login_as):
    service = add_service()
    board = make_board()
    report, duplicate = make_thread(board=board), make_thread(board=board)
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    client.form(f"/travaux/incidents/{incident.id}/link", {"thread": f"/threads/{duplicate.id}"})
    client.form(f"/travaux/incidents/{incident.id}/updates",
                {"status": "identified", "message": "Un **disque** est lent."})
    for thread in (report, duplicate):
        posts = db.session.scalars(select(Post).where(Post.thread_id == thread.id,
                                                      Post.official)).all()
        assert any("<strong>disque</strong>" in post.body_html for post in posts)
    client.logout()
    # A guest sees it on the incident page, the status page, the API and every page's banner.
    incident_page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert "<strong>disque</strong>" in incident_page
    assert f"/threads/{duplicate.id}/" in incident_page
    assert "Erreurs 503 sur web7" in client.get("/travaux/").get_data(as_text=True)
    status = client.get("/api/v1/status").get_json()
    assert status["ongoing"][0]["last_update"]["message"] == "Un **disque** est lent."
    assert status["services"][0]["status"] == "partial_outage"
    banner = client.get("/").get_data(as_text=True)
    assert 'class="ops-banner' in banner and "Un disque est lent." in banner


def test_resolving_marks_threads_resolved_not_locked(client, login_as):
    service = add_service()
    report = make_thread()
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    client.form(f"/travaux/incidents/{incident.id}/updates",
                {"status": "resolved", "message": "Réglé."})
    db.session.refresh(report)
    assert report.resolved_at is not None and report.locked_at is None
    board_page = client.get(f"/boards/{report.board.slug}").get_data(as_text=True)
    assert "badge-resolved" in board_page and "badge-incident" in board_page
    client.logout()
    assert 'class="ops-banner' not in client.get("/").get_data(as_text=True)


def test_updating_a_closed_incident_without_reopening_is_refused(client, login_as):
    service = add_service()
    report = make_thread()
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    client.form(f"/travaux/incidents/{incident.id}/updates",
                {"status": "resolved", "message": "Réglé."})
    response = client.form(f"/travaux/incidents/{incident.id}/updates",
                           {"status": "investigating", "message": "Encore ?"})
    assert response.status_code == 422
    db.session.refresh(incident)
    assert incident.status == "resolved"
    response = client.form(f"/travaux/incidents/{incident.id}/updates",
                           {"status": "investigating", "message": "Encore.", "reopen": "y"})
    assert response.status_code == 302
    db.session.refresh(incident)
    assert incident.status == "investigating" and incident.resolved_at is None


def test_a_linked_thread_cannot_be_promoted_again(client, login_as):
    service = add_service()
    report = make_thread()
    login_as("admin")
    promote(client, report, service)
    response = promote(client, report, service)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Incident.id))) == 1


def test_link_by_pasted_address_with_a_port(client, login_as):
    service = add_service()
    report, other = make_thread(), make_thread()
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    address = f"http://127.0.0.1:5000/threads/{other.id}/{other.slug}?page=2#post-3"
    client.form(f"/travaux/incidents/{incident.id}/link", {"thread": address})
    db.session.refresh(other)
    assert other.incident_id == incident.id


def test_unlink_a_thread(client, login_as):
    service = add_service()
    report, other = make_thread(), make_thread()
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    client.form(f"/travaux/incidents/{incident.id}/link", {"thread": str(other.id)})
    db.session.refresh(other)
    assert other.incident_id == incident.id
    client.form(f"/travaux/incidents/{incident.id}/unlink/{other.id}")
    db.session.refresh(other)
    assert other.incident_id is None
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["incident.promote", "incident.link", "incident.unlink"]


def test_member_marks_affected_and_takes_it_back(client, login_as):
    author = make_user()
    report = make_thread(author=author)
    member = login_as()
    client.form(f"/threads/{report.id}/affected", {"affected": "1"})
    client.form(f"/threads/{report.id}/affected", {"affected": "1"})
    db.session.refresh(report)
    assert report.affected_count == 2  # the author and the member
    assert db.session.get(Watch, (report.id, member.id)) is not None
    page = client.get(f"/threads/{report.id}", follow_redirects=True).get_data(as_text=True)
    assert 'aria-pressed="true"' in page
    client.form(f"/threads/{report.id}/affected", {"affected": "0"})
    db.session.refresh(report)
    assert report.affected_count == 1


def test_author_is_not_counted_and_guest_is_asked_to_log_in(client):
    author = make_user()
    report = make_thread(author=author)
    page = client.get(f"/threads/{report.id}", follow_redirects=True).get_data(as_text=True)
    assert f"/login?next=/threads/{report.id}/" in page
    response = client.form(f"/threads/{report.id}/affected", {"affected": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    client.login(author.email)
    client.form(f"/threads/{report.id}/affected", {"affected": "1"})
    assert db.session.scalar(select(func.count()).select_from(Affected)) == 0


def test_incident_page_sums_affected_over_linked_threads(client, login_as):
    service = add_service()
    report, duplicate = make_thread(), make_thread()
    for thread, count in ((report, 2), (duplicate, 3)):
        for _ in range(count):
            member = make_user()
            client.login(member.email)
            client.form(f"/threads/{thread.id}/affected", {"affected": "1"})
            client.logout()
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    client.form(f"/travaux/incidents/{incident.id}/link", {"thread": str(duplicate.id)})
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    # Each report's author counts: they reported it.
    assert "7 membres concernés dans les sujets liés" in page
    assert "3 concernés" in page and "4 concernés" in page


def test_reports_to_watch_orders_unpromoted_threads_by_recent_affected(client, login_as):
    quiet, busy = make_thread(title="Sujet calme"), make_thread(title="Sujet chaud")
    for thread, count in ((quiet, 1), (busy, 3)):
        for _ in range(count):
            client.login(make_user().email)
            client.form(f"/threads/{thread.id}/affected", {"affected": "1"})
            client.logout()
    login_as("moderator")
    page = client.get("/travaux/reports").get_data(as_text=True)
    assert page.index("Sujet chaud") < page.index("Sujet calme")


def test_new_thread_form_shows_ongoing_incidents_first(client, login_as):
    service = add_service()
    report = make_thread()
    login_as("admin")
    promote(client, report, service)
    client.logout()
    login_as()
    page = client.get(f"/boards/{report.board.slug}/new").get_data(as_text=True)
    assert 'class="ongoing-notice"' in page
    assert page.index("Erreurs 503 sur web7") < page.index('name="title"')


def test_the_incident_box_refreshes_from_its_own_address(client, login_as):
    service = add_service()
    report = make_thread()
    login_as("admin")
    promote(client, report, service)
    incident = db.session.scalar(select(Incident))
    page = client.get(f"/threads/{report.id}", follow_redirects=True).get_data(as_text=True)
    box_url = f"/travaux/incidents/{incident.id}/box"
    assert f'data-refresh="{box_url}"' in page  # what board.js polls
    client.form(f"/travaux/incidents/{incident.id}/updates",
                {"status": "monitoring", "message": "Ça se stabilise."})
    client.logout()
    box = client.get(box_url)
    assert box.status_code == 200 and "public" in box.headers["Cache-Control"]
    html = box.get_data(as_text=True)
    assert "Sous surveillance" in html and "Ça se stabilise." in html
    assert "<html" not in html  # a fragment, not a page


def test_travaux_notice_never_links_a_staff_only_report(app, client):
    admin = make_user(role="admin")
    secret = make_thread(board=make_board(visibility="staff"), title="Suivi interne")
    with site_context():
        incident = travaux.promote(secret, admin, kind="incident", title="Panne", impact="minor",
                                   services=[], message="Nous regardons.", notify=True)
    notice = db.session.scalar(select(ListMessage))
    assert f"/threads/{secret.id}" not in notice.body_source
    assert f"/travaux/incidents/{incident.id}" in notice.body_source
