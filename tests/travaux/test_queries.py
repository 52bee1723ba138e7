"""Travaux pages cost the same number of queries whatever the number of updates and threads."""

import pytest
from sqlalchemy import select

from board import pagecache
from board.extensions import db
from board.forum.models import Thread
from board.travaux import mine, services
from board.travaux.models import Incident, Service
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user

# The banner comes on top of each page's own queries: its stamp; the ongoing operations and
# their services are read once per change of Travaux (board/travaux/page_parts.py).
BANNER = 1
STATUS_PAGE = 8 + BANNER    # open operations + services, service list, history count + page,
# the services' 90 days of uptime and of community marks (board/travaux/uptime_views.py)
INCIDENT_PAGE = 4 + BANNER  # incident + last update, services, updates, linked threads
THREAD_PAGE = 3 + 1 + BANNER  # the forum's thread page (a guest: no count), plus its incident box
STAMP = 1  # a guest's page also reads its stamp (board/pagecache.py) on a cache miss


def grow(count: int):
    """An ongoing incident with `count` updates and `count` linked threads."""
    admin = make_user(role="admin")
    service = Service(slug=f"s{count}", name=f"Service {count}")
    db.session.add(service)
    db.session.commit()
    board = make_board()
    report = make_thread(board=board)
    with site_context():
        incident = services.promote(report, admin, kind="incident", title=f"Panne {count}",
                                    impact="major", services=[service], message="Début.")
        for n in range(count):
            services.post_update(incident, admin, "identified", f"Point {n}.")
            services.link_thread(incident, make_thread(board=board), admin)
        # A resolved one for the history.
        old = services.open_incident(admin, kind="incident", title="Ancienne", impact="minor",
                                     services=[service], message="Vu.")
        services.post_update(old, admin, "resolved", "Fini.")
    return incident, report


def queries_for(client, path):
    client.get(path)
    pagecache.store().clear()  # what it costs to render: a guest's second visit is a hit
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("page", ["status", "incident", "thread"])
def test_travaux_pages_cost_a_constant_number_of_queries(client, page):
    costs = []
    for count in (2, 12):
        incident, report = grow(count)
        path = {"status": "/travaux/", "incident": f"/travaux/incidents/{incident.id}",
                "thread": f"/threads/{report.id}/{report.slug}"}[page]
        costs.append(queries_for(client, path))
    budget = STAMP + {"status": STATUS_PAGE, "incident": INCIDENT_PAGE,
                      "thread": THREAD_PAGE}[page]
    assert costs[0] == costs[1] == budget, costs
    assert db.session.scalar(select(db.func.count(Thread.id))) > 12
    assert db.session.scalar(select(db.func.count(Incident.id))) == 4


def test_api_status_costs_a_constant_number_of_queries(client):
    costs = []
    for count in (2, 12):
        grow(count)
        costs.append(queries_for(client, "/api/v1/status"))
    assert costs[0] == costs[1] == 4, costs


# A member pays their session's user instead of the page's stamp; the thread page reads their
# "affected too", their read mark (board/forum/reading.py) and the draft of their reply; and
# their services: one query, whatever their number. Pages with the header count the bell's
# notifications: one more.
BELL = 1
MEMBER_MORE = {"status": 1 + BELL, "embed": 1, "thread": 4 + BELL}


@pytest.mark.parametrize("page", ["status", "embed", "thread"])
def test_a_member_s_services_cost_one_query(app, client, login_as, page):
    """Their services first, or alone: one query more than a guest pays (on a cache miss),
    whatever the number of services, incidents and threads."""
    costs = []
    member = login_as("member")
    for count in (2, 12):
        incident, report = grow(count)
        for n in range(count):
            db.session.add(Service(slug=f"extra-{count}-{n}", name=f"Extra {n}"))
        db.session.commit()
        path = {"status": "/travaux/", "embed": "/travaux/embed",
                "thread": f"/threads/{report.id}/{report.slug}"}[page]
        guest = queries_for(app.test_client(), path)
        client.form("/account/services", {"services": [s.id for s in services.all_services()]})
        client.get("/travaux/show/mine")
        costs.append(queries_for(client, path) - guest)
    assert db.session.scalar(select(db.func.count()).select_from(mine.member_services).where(
        mine.member_services.c.user_id == member.id)) == 16
    assert costs == [MEMBER_MORE[page]] * 2, costs
