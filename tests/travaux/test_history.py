"""/travaux/history: every operation month by month (French month names, Paris time),
filtered by service, kind and impact with the filters kept in every link, read by key so a
deep page costs the queries of the first; and its pages in the static export."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import event

from board import pagecache
from board.clock import now, travel
from board.extensions import db
from board.travaux.export import export
from tests.conftest import count_queries
from tests.factories import make_user
from tests.travaux.factories import make_incident, make_service, post_update

TITLE = re.compile(r'<a href="/travaux/incidents/\d+">([^<]+)</a>')
MONTH = re.compile(r'<h2 id="month-\d+">([^<]+)</h2>')
LINK = re.compile(r'<a href="([^"]+)" rel="(prev|next)">')


def opened_at(moment: datetime, **fields):
    """An operation opened at `moment`, to the microsecond."""
    with travel(moment - now()):
        incident = make_incident(**fields)
    incident.created_at = moment
    db.session.commit()
    return incident


@pytest.fixture
def per_page(app, monkeypatch):
    monkeypatch.setitem(app.config, "TRAVAUX_HISTORY_PER_PAGE", 5)
    return 5


def read(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    content = page[page.index("<h1>"):]  # not the banner's ongoing operations
    return TITLE.findall(content), {rel: unescape(href) for href, rel in LINK.findall(page)}, page


def test_months_in_french_and_paris_time(client, app):
    admin = make_user(role="admin")
    opened_at(datetime(2026, 9, 14, 8, tzinfo=UTC), author=admin, title="Septembre")
    # 23:30 UTC on 31 October is half past midnight on 1 November in Paris.
    opened_at(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), author=admin, title="Toussaint")
    opened_at(datetime(2026, 10, 31, 22, 30, tzinfo=UTC), author=admin, title="Halloween")
    titles, _links, page = read(client, "/travaux/history")
    assert titles[-3:] == ["Toussaint", "Halloween", "Septembre"]
    assert MONTH.findall(page)[-3:] == ["Novembre 2026", "Octobre 2026", "Septembre 2026"]
    english = client.get("/travaux/history", headers={"Accept-Language": "en"})
    assert "November 2026" in english.get_data(as_text=True)


def test_the_status_page_links_to_the_history(client):
    admin = make_user(role="admin")
    incident = make_incident(author=admin)
    post_update(incident, admin, "resolved")
    assert 'href="/travaux/history"' in client.get("/travaux/").get_data(as_text=True)


def test_filters_by_service_kind_and_impact(client):
    admin = make_user(role="admin")
    web, mail = make_service("web", "Hébergement web"), make_service("mail", "Messagerie")
    make_incident(author=admin, services=[web], impact="major", title="Web en panne")
    make_incident(author=admin, services=[mail], impact="minor", title="Mail lent")
    make_incident(author=admin, kind="maintenance", services=[mail], impact="none",
                  title="Mise à jour du mail")
    assert set(read(client, "/travaux/history?service=mail")[0]) == {"Mail lent",
                                                                     "Mise à jour du mail"}
    assert read(client, "/travaux/history?service=mail&kind=incident")[0] == ["Mail lent"]
    assert read(client, "/travaux/history?impact=major")[0] == ["Web en panne"]
    assert read(client, "/travaux/history?kind=maintenance")[0] == ["Mise à jour du mail"]
    _titles, _links, page = read(client, "/travaux/history?service=web&impact=critical")
    assert "Rien ne correspond à ces filtres." in page
    # Unknown values are no filter at all, never an error.
    assert len(read(client, "/travaux/history?service=nope&kind=x&impact=huge")[0]) == 3
    page = read(client, "/travaux/history?service=mail")[2]
    assert '<option value="mail" selected>Messagerie</option>' in page


def test_every_operation_once_in_order_walking_either_way_with_the_filters(client, per_page):
    admin = make_user(role="admin")
    mail, web = make_service("mail", "Messagerie"), make_service("web", "Web")
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    expected = []
    for n in range(23):
        service = mail if n % 3 else web
        opened_at(start + timedelta(days=11 * n), author=admin, services=[service],
                  title=f"Opération {n}")
        if service is mail:
            expected.append(f"Opération {n}")
    # Two at the same instant: the id breaks the tie.
    opened_at(start + timedelta(days=11), author=admin, services=[mail], title="Jumelle")
    expected.insert(1, "Jumelle")
    expected.reverse()
    url, pages = "/travaux/history?service=mail", []
    while url:
        titles, links, _page = read(client, url)
        pages.append(titles)
        if "next" in links:
            assert "service=mail" in links["next"]
        url = links.get("next")
        assert len(pages) < 20
    assert [t for page in pages for t in page] == expected
    assert all(len(page) == per_page for page in pages[:-1])
    # And back from the last page, by the "newer" links.
    titles, links, _page = read(client, url or _last_url(client, "/travaux/history?service=mail"))
    back = [titles]
    while "prev" in links:
        assert "service=mail" in links["prev"]
        titles, links, _page = read(client, links["prev"])
        back.append(titles)
    assert [t for page in reversed(back) for t in page] == expected


def _last_url(client, url):
    while True:
        _titles, links, _page = read(client, url)
        if "next" not in links:
            return url
        url = links["next"]


def test_a_deep_page_costs_what_the_first_one_does(client, per_page):
    admin = make_user(role="admin")
    mail = make_service("mail", "Messagerie")
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for n in range(30):
        opened_at(start + timedelta(days=40 * n), author=admin, services=[mail],
                  title=f"Op {n}")

    def cost(url):
        client.get(url)
        pagecache.store().clear()
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    first = "/travaux/history?service=mail"
    deep = _last_url(client, first)
    assert "after=" in deep
    assert cost(deep) == cost(first)
    # One range of the index: a key, never an offset (SQLite's dialect writes OFFSET 0).
    [(statement, parameters)] = [(s, p) for s, p in _statements(client, deep)
                                 if "FROM incidents" in s and "ORDER BY" in s]
    assert "(incidents.created_at, incidents.id) <" in statement
    assert "OFFSET" not in statement.upper() or parameters[-1] == 0


def _statements(client, url):
    """The statements and their parameters sent for a guest's (uncached) page."""
    pagecache.store().clear()
    sent = []

    def before(conn, cursor, statement, parameters, *args):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return sent


@pytest.mark.parametrize("key", ["x", "2026.1", "20261301000000000000.5", "1." + "9" * 30])
def test_a_bad_key_is_a_404(client, key):
    assert client.get(f"/travaux/history?after={key}").status_code == 404
    assert client.get(f"/travaux/history?before={key}").status_code == 404


def test_the_export_has_a_page_per_month_and_an_index(app, client, tmp_path):
    admin = make_user(role="admin")
    opened_at(now() - timedelta(days=70), author=admin, title="Il y a deux mois")
    opened_at(now(), author=admin, title="Ce mois-ci")
    export(tmp_path / "site")
    root = tmp_path / "site" / "history"
    index = (root / "index.html").read_text(encoding="utf-8")
    month_files = sorted(p.name for p in root.glob("????-??.html"))
    assert len(month_files) >= 3  # every month from the first operation's to this one
    for name in month_files:
        assert f'href="../history/{name}"' in index
    current = (root / month_files[-1]).read_text(encoding="utf-8")
    assert "<form" not in current and "<script" not in current
    current = current[current.index("<h1>"):]  # not the banner
    assert "Ce mois-ci" in current and "Il y a deux mois" not in current
    status = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="history/index.html"' in status


def test_one_month_alone(client):
    admin = make_user(role="admin")
    opened_at(datetime(2026, 3, 30, 21, 30, tzinfo=UTC), author=admin, title="Fin mars")
    # 22:30 UTC on 31 March is 00:30 on 1 April in Paris (summer time).
    opened_at(datetime(2026, 3, 31, 22, 30, tzinfo=UTC), author=admin, title="Premier avril")
    titles, _links, page = read(client, "/travaux/history?month=2026-03")
    assert titles == ["Fin mars"]
    assert "<h1>Historique · Mars 2026</h1>" in page
    assert read(client, "/travaux/history?month=2026-04")[0] == ["Premier avril"]
    assert len(read(client, "/travaux/history?month=2026-99")[0]) == 2  # no filter
