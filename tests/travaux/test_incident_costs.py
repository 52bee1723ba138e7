"""What each incident cost: the staff panel of the incident page (threads, distinct members
affected, duplicates merged, times from the first report), /admin/reports per service and
month, its CSV (proper, UTF-8, safe from formulas), at a bounded number of queries."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from board import pagecache
from board.clock import travel
from board.forum import services as forum
from board.travaux import services as travaux
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, make_incident, make_service, post_update


def at(moment: datetime):
    """Travel so that now() is `moment` (UTC)."""
    from board.clock import now
    return travel(moment - now())


@pytest.fixture
def mail(app):
    return make_service("mail", "Messagerie", position=1)


def costly_incident(mail, title="Plus de réception", start=None):
    """Reports at 10:00 (by Alice) and 10:20 (by Bob, merged into Alice's later); Carol and
    Dan affected, Carol on both; a staff answer at 10:30; promotion at 10:45; resolution at
    12:00 (all UTC, on `start`'s day)."""
    start = start or datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
    admin, moderator = make_user(role="admin"), make_user(role="moderator")
    alice, bob, carol, dan = (make_user() for _ in range(4))
    board = make_board()
    with at(start):
        first = make_thread(board=board, author=alice, title=title)
    with at(start + timedelta(minutes=20)):
        second = make_thread(board=board, author=bob, title=title + " (bis)")
        forum.mark_affected(second, carol)
    with at(start + timedelta(minutes=25)):
        forum.mark_affected(first, carol)
        forum.mark_affected(first, dan)
    with at(start + timedelta(minutes=30)), site_context():
        forum.reply(first, moderator, "Nous regardons.", official=True)
        forum.merge_duplicate(second, first, moderator)
    with at(start + timedelta(minutes=45)), site_context():
        incident = travaux.promote(first, admin, kind="incident", title=title, impact="major",
                                   services=[mail], message="Confirmé.")
    with at(start + timedelta(hours=2)):
        post_update(incident, admin, "resolved", "Réparé.")
    return incident


def test_staff_see_what_an_incident_cost(client, login_as, mail):
    incident = costly_incident(mail)
    login_as("moderator")
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    panel = page[page.index('id="cost-title"'):]
    panel = panel[:panel.index("</section>")]
    facts = dict(zip([part.split("</dt>")[0] for part in panel.split("<dt>")[1:]],
                     [part.split("</dd>")[0] for part in panel.split("<dd>")[1:]], strict=True))
    assert facts["Sujets liés"] == "1"
    assert facts["Membres touchés"] == "4"  # Alice, Bob (merged), Carol (twice), Dan
    assert facts["Doublons fusionnés"] == "1"
    assert facts["Signalement → promotion"] == "45 min"
    assert facts["Signalement → première parole officielle"] == "30 min"
    assert facts["Signalement → résolution"] == "2 h 00 min"


@pytest.mark.parametrize("role", [None, "member"])
def test_guests_and_members_do_not_see_the_cost(client, login_as, mail, role):
    incident = costly_incident(mail)
    if role:
        login_as(role)
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert 'id="cost-title"' not in page and "Doublons fusionnés" not in page


def test_an_incident_declared_directly_counts_no_report(client, login_as, mail):
    incident = make_incident(services=[mail])  # its discussion thread is not a report
    login_as("admin")
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    panel = page[page.index('id="cost-title"'):]
    assert "<dt>Sujets liés</dt><dd>0</dd>" in panel
    assert "<dt>Signalement → promotion</dt><dd>—</dd>" in panel


def queries_for(client, path):
    client.get(path)
    pagecache.store().clear()
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_the_panel_and_the_month_cost_the_same_queries_whatever_the_reports(
        client, login_as, mail):
    login_as("admin")
    costs_seen = []
    for count in (1, 6):
        incident = costly_incident(mail, title=f"Panne {count}")
        board = make_board()
        for _ in range(count):
            thread = make_thread(board=board)
            forum.mark_affected(thread, make_user())
            link_thread(incident, thread, make_user(role="admin"))
        costs_seen.append((queries_for(client, f"/travaux/incidents/{incident.id}"),
                           queries_for(client, "/admin/reports?month=2026-11")))
    assert costs_seen[0] == costs_seen[1], costs_seen


def test_the_month_sums_and_medians_per_service(client, login_as, mail):
    web = make_service("web", "Hébergement web", position=2)
    costly_incident(mail)
    second = costly_incident(mail, title="Encore", start=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    second.services = [mail, web]
    from board.extensions import db
    db.session.commit()
    costly_incident(mail, title="Décembre", start=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    # Opened at 23:30 UTC on 31 October: already November in Paris.
    costly_incident(mail, title="Halloween",
                    start=datetime(2026, 10, 31, 22, 45, tzinfo=UTC))
    login_as("moderator")
    page = client.get("/admin/reports?month=2026-11").get_data(as_text=True)
    assert "Novembre 2026" in page
    row = page[page.index("<th scope=\"row\">Messagerie</th>"):]
    row = row[:row.index("</tr>")]
    cells = [part.split("</td>")[0].split(">")[-1] for part in row.split("<td")[1:]]
    assert cells == ["3", "3", "12", "3", "45 min", "30 min", "2 h 00 min"]
    assert "<th scope=\"row\">Hébergement web</th>" in page
    assert "Halloween" in page and "Décembre" not in page


def test_the_month_in_csv(client, login_as, mail):
    incident = costly_incident(mail, title="=HYPERLINK(\"http://evil\")")
    login_as("moderator")
    response = client.get("/admin/reports.csv?month=2026-11&by=incident")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="incidents-2026-11.csv"'
    text = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["id"] == str(incident.id)
    assert rows[0]["title"] == "'=HYPERLINK(\"http://evil\")"  # not a formula any more
    assert (rows[0]["threads"], rows[0]["affected"], rows[0]["duplicates"]) == ("1", "4", "1")
    assert rows[0]["minutes_to_promotion"] == "45"
    by_service = list(csv.reader(io.StringIO(
        client.get("/admin/reports.csv?month=2026-11").data.decode("utf-8-sig"))))
    assert by_service[0][0] == "service"
    assert by_service[1][:5] == ["Messagerie", "1", "1", "4", "1"]
    assert by_service[-1][0] == "Tous les services"


def test_a_bad_month_shows_the_current_one_with_a_message(client, login_as):
    login_as("moderator")
    response = client.get("/admin/reports?month=2026-13")
    assert response.status_code == 200
    assert "AAAA-MM" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [None, "member"])
def test_only_staff_read_the_reports(client, login_as, role):
    if role:
        login_as(role)
    for path in ("/admin/reports", "/admin/reports.csv"):
        assert client.get(path).status_code == (302 if role is None else 403)
