"""Board pages by key (board/forum/listing.py): every thread once, in order, whichever way a
reader walks, with pinned threads, equal timestamps and changes between two requests; old
`?page=N` links; guests never see a hidden thread; and, on PostgreSQL, the listing and the
feeds read their indexes at 10,000 threads."""

import math
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import event, insert, select, text

from board import pagecache
from board.clock import now
from board.extensions import db
from board.forum import services
from board.forum.models import Post, Thread
from board.visibility import GUEST, visible_threads
from tests.factories import make_board, make_user

PER_PAGE = 5
TITLE = re.compile(r'class="title" href="[^"]+">([^<]+)</a>')
LINK = re.compile(r'<a href="([^"]+)" rel="(prev|next)">')
CURRENT = re.compile(r'<span class="current" aria-current="page">(\d+)</span>')


@pytest.fixture
def per_page(app, monkeypatch):
    monkeypatch.setitem(app.config, "THREADS_PER_PAGE", PER_PAGE)
    return PER_PAGE


def seed_threads(board, count, pinned=(), same_time=()):
    """`count` threads through the bulk path (as bench and imports do), the n-th one active
    n minutes after the first; those in `same_time` share one moment, those in `pinned` are
    pinned. Returns the titles in the listing's order."""
    start, author = now() - timedelta(days=1), make_user()
    moments = [start + timedelta(minutes=n) for n in range(count)]
    for n in same_time:
        moments[n] = start + timedelta(minutes=same_time[0])
    db.session.execute(insert(Thread), [
        {"board_id": board.id, "author_id": author.id, "title": f"Sujet {n}",
         "slug": f"sujet-{n}", "created_at": moments[n], "last_activity_at": moments[n],
         "post_count": 0, "pinned": n in pinned} for n in range(count)])
    threads = db.session.execute(select(Thread.id, Thread.created_at)
                                 .where(Thread.board_id == board.id)).all()
    db.session.execute(insert(Post), [
        {"thread_id": t.id, "author_id": author.id, "body_source": "x", "body_html": "<p>x</p>",
         "created_at": t.created_at, "official": False} for t in threads])
    services.recount_all()
    return expected_titles(board, None)


def expected_titles(board, viewer):
    """The order, computed here in Python from every row the viewer may see."""
    rows = db.session.scalars(visible_threads(
        select(Thread).where(Thread.board_id == board.id), viewer or GUEST)).all()
    rows.sort(key=lambda t: (t.pinned, t.last_activity_at, t.id), reverse=True)
    return [t.title for t in rows]


def read(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    links = {rel: unescape(href) for href, rel in LINK.findall(html)}
    current = CURRENT.search(html)
    return TITLE.findall(html), links, int(current.group(1)) if current else None


def walk(client, url, direction):
    """Follow "next" (or "previous") links from `url` to the end: pages of titles, labels."""
    pages, labels = [], []
    while url:
        titles, links, label = read(client, url)
        pages.append(titles)
        labels.append(label)
        url = links.get(direction)
        assert len(pages) < 100
    return pages, labels


def chunks(titles, size):
    return [titles[i:i + size] for i in range(0, len(titles), size)]


@pytest.mark.parametrize("pinned", [(3, 17), tuple(range(7))])
def test_next_and_previous_walk_every_thread_once_in_order(client, per_page, pinned):
    # Seven threads active at one moment, across two page boundaries; in the second case
    # the pinned threads fill more than a page, and two of them share that moment.
    board = make_board()
    order = seed_threads(board, 23, pinned=pinned, same_time=(5, 6, 7, 8, 9, 10, 11))
    assert order[:len(pinned)] == [f"Sujet {n}" for n in sorted(pinned, reverse=True)]
    pages, labels = walk(client, f"/boards/{board.slug}", "next")
    assert pages == chunks(order, per_page)
    assert labels == [1, 2, 3, 4, 5]
    assert "after=" in read(client, f"/boards/{board.slug}")[1]["next"]
    back, labels = walk(client, f"/boards/{board.slug}?page=5", "prev")
    assert back == chunks(order, per_page)[::-1]
    assert labels == [5, 4, 3, 2, 1]


def test_numbered_pages_and_old_page_links(client, per_page):
    board = make_board()
    order = seed_threads(board, 23, pinned=(0,), same_time=(1, 2, 3, 4, 5, 6, 7, 8))
    expected = chunks(order, per_page)
    for number in range(1, 6):
        titles, _links, label = read(client, f"/boards/{board.slug}?page={number}")
        assert (titles, label) == (expected[number - 1], number)
    html = client.get(f"/boards/{board.slug}?page=3").get_data(as_text=True)
    assert f'href="/boards/{board.slug}?page=5" title="Dernière page"' in html
    assert f'href="/boards/{board.slug}" title="Première page"' in html
    for bad in ("page=6", "page=0", "page=-1", "page=abc", "after=nonsense", "before=1.2.3",
                "after=0.20261301000000000000.4"):
        assert client.get(f"/boards/{board.slug}?{bad}").status_code == 404, bad


def test_an_empty_board_has_one_page_and_no_links(client, per_page):
    board = make_board()
    titles, links, label = read(client, f"/boards/{board.slug}")
    assert (titles, links, label) == ([], {}, None)
    assert client.get(f"/boards/{board.slug}?page=2").status_code == 404


def test_changes_between_two_requests_skip_nothing_and_repeat_nothing(client, per_page):
    board = make_board()
    order = seed_threads(board, 20, pinned=(19,))
    moderator = make_user(role="moderator")
    _titles, links, _ = read(client, f"/boards/{board.slug}")
    page2, links2, _ = read(client, links["next"])
    assert page2 == order[5:10]
    # Meanwhile: the thread the next link starts after is hidden, one on page 3 too, and a
    # thread of page 4 gets a reply (it moves to the top, below the pinned one).
    threads = {t.title: t for t in db.session.scalars(select(Thread))}
    services.hide_thread(threads[page2[-1]], moderator)
    services.hide_thread(threads[order[11]], moderator)
    services.reply(threads[order[16]], make_user(), "Toujours là")
    pages, _labels = walk(client, links2["next"], "next")
    seen = [title for page in pages for title in page]
    assert seen == [t for t in order[10:] if t not in (order[11], order[16])]
    # Going back from there still lands on a full first page, now starting with the reply.
    new_order = expected_titles(board, None)
    back, labels = walk(client, links2["next"], "prev")
    assert back[-1] == new_order[:5] and labels[-1] == 1


def test_guests_never_see_hidden_threads_and_staff_see_them_counted(client, per_page,
                                                                    login_as):
    board = make_board()
    order = seed_threads(board, 17)
    moderator = make_user(role="moderator")
    threads = {t.title: t for t in db.session.scalars(select(Thread))}
    hidden = [order[0], order[6], order[12], order[16]]
    for title in hidden:
        services.hide_thread(threads[title], moderator)
    visible = [t for t in order if t not in hidden]
    pages, labels = walk(client, f"/boards/{board.slug}", "next")
    assert [t for page in pages for t in page] == visible
    assert labels[-1] == math.ceil(len(visible) / per_page) == 3
    for number in range(1, 4):
        titles, _links, _label = read(client, f"/boards/{board.slug}?page={number}")
        assert titles == chunks(visible, per_page)[number - 1]
        assert not set(titles) & set(hidden)
    back, _labels = walk(client, f"/boards/{board.slug}?page=3", "prev")
    assert not {t for page in back for t in page} & set(hidden)
    assert client.get(f"/boards/{board.slug}?page=4").status_code == 404
    login_as("moderator")
    pages, labels = walk(client, f"/boards/{board.slug}", "next")
    assert [t for page in pages for t in page] == order
    assert labels[-1] == 4
    assert read(client, f"/boards/{board.slug}?page=4")[0] == chunks(order, per_page)[3]


def test_a_listing_never_loads_the_text_of_posts(client, per_page):
    board = make_board()
    seed_threads(board, 12)
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        for url in (f"/boards/{board.slug}", f"/boards/{board.slug}?page=3",
                    read(client, f"/boards/{board.slug}")[1]["next"]):
            pagecache.store().clear()
            assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    listing = [s for s in statements if "FROM threads" in s]
    assert listing and not any("body_html" in s or "body_source" in s for s in listing)
    assert not any("count(" in s.lower() for s in listing)  # the board's counter instead


# Query plans at 10,000 threads (PostgreSQL) -----------------------------------------------

def bulk_threads(board_ids, count):
    start, author = now() - timedelta(days=400), make_user()
    db.session.execute(insert(Thread), [
        {"board_id": board_ids[n % len(board_ids)], "author_id": author.id,
         "title": f"Sujet {n}", "slug": f"sujet-{n}",
         "created_at": start + timedelta(minutes=n), "post_count": 0, "pinned": n < 2,
         "last_activity_at": start + timedelta(minutes=n)} for n in range(count)])
    db.session.execute(text(
        "INSERT INTO posts (thread_id, author_id, body_source, body_html, excerpt, created_at,"
        " official) SELECT id, author_id, 'x', '<p>x</p>', 'x', created_at, false FROM threads"))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    services.recount_all()


def plans(client, url):
    """The PostgreSQL plan of every statement a GET of `url` sends, with its parameters."""
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    pagecache.store().clear()  # what the page costs to make, not the guest cache's answer
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    with db.engine.connect() as conn:
        cursor = conn.connection.cursor()
        found = []
        for statement, parameters in sent:
            if "FROM threads" in statement:
                cursor.execute("EXPLAIN " + statement, parameters)
                found.append("\n".join(row[0] for row in cursor.fetchall()))
        return found


def test_listing_and_feeds_read_their_indexes_at_10000_threads(client, app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's (TEST_DATABASE_URL)")
    boards = [make_board() for _ in range(4)]
    bulk_threads([b.id for b in boards], 10_000)
    board = boards[0]
    next_url = read(client, f"/boards/{board.slug}")[1]["next"]
    last = math.ceil(2500 / app.config["THREADS_PER_PAGE"])
    urls = ["/feed.rss", f"/boards/{board.slug}/feed.rss", f"/boards/{board.slug}",
            next_url, f"/boards/{board.slug}?page={last}", f"/boards/{board.slug}?page=40"]
    for url in urls:
        found = plans(client, url)
        assert found, url
        for plan in found:
            assert "Seq Scan on threads" not in plan, f"{url}\n{plan}"
            assert re.search(r"Index (Only )?Scan( Backward)? using ix_threads_", plan) or \
                "pk_threads" in plan, f"{url}\n{plan}"
            sorted_rows = [int(n) for n in re.findall(r"Sort  \(cost=\S+ rows=(\d+)", plan)]
            assert all(n <= 100 for n in sorted_rows), f"{url}\n{plan}"


def test_a_board_listing_is_planned_once_then_reused(client):
    """PostgreSQL keeps a prepared statement's plan only when the generic plan costs no more
    than a custom one; with its LIMIT bound (LIMIT $1) the listing never did, and was
    planned again at every view. Its LIMIT is written into the SQL: run as the page sends it,
    on one connection, the server takes the generic plan after psycopg prepares it. (At 200
    threads both plans cost the same and either way passes; at 2,000 a bound LIMIT fails.)"""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("prepared statements' plans are PostgreSQL's (TEST_DATABASE_URL)")
    board = make_board()
    bulk_threads([board.id], 2000)
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    pagecache.store().clear()
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(f"/boards/{board.slug}").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    [(statement, parameters)] = [(s, p) for s, p in sent if "ORDER BY threads.pinned" in s]
    with db.engine.connect() as conn:
        cursor = conn.connection.cursor()
        for _ in range(10):  # psycopg prepares at the fifth; the server decides after five more
            cursor.execute(statement, parameters)
            cursor.fetchall()
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                       "WHERE statement LIKE '%ORDER BY threads.pinned%'")
        [(generic, custom)] = cursor.fetchall()
        conn.rollback()
    assert generic > 0, (generic, custom)


def test_the_migration_names_the_first_post_of_existing_threads(tmp_path):
    from flask_migrate import downgrade, upgrade

    from tests.migrations import database_at

    with database_at(tmp_path, "2a7d9c5e3f18"):
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, name, name_key, password_hash, role, "
                "created_at, session_version) VALUES (1, 'a@example.org', 'A', 'a', 'x', "
                "'member', '2026-01-01 00:00:00', 1)"))
            conn.execute(text(
                "INSERT INTO boards (id, slug, name, description, position, visibility, "
                "thread_count, post_count, changed_at) VALUES (1, 'b', 'B', '', 0, 'public', "
                "2, 3, '2026-01-01 00:00:00')"))
            for thread_id in (1, 2, 3):
                conn.execute(text(
                    "INSERT INTO threads (id, board_id, author_id, title, slug, created_at, "
                    "last_activity_at, post_count, pinned) VALUES (:id, 1, 1, 'T', 't', "
                    "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, 0)"), {"id": thread_id})
            # Thread 1 opened by post 5 (its reply is 7), thread 2 by post 6, 3 has none.
            for post_id, thread_id in ((7, 1), (5, 1), (6, 2)):
                conn.execute(text(
                    "INSERT INTO posts (id, thread_id, author_id, body_source, body_html, "
                    "excerpt, created_at, official) VALUES (:p, :t, 1, 'x', '<p>x</p>', 'x', "
                    "'2026-01-01 00:00:00', 0)"), {"p": post_id, "t": thread_id})
        upgrade(revision="5e2b7c9d4a10")
        with db.engine.connect() as conn:
            assert conn.execute(text(
                "SELECT id, first_post_id FROM threads ORDER BY id")).all() == [
                    (1, 5), (2, 6), (3, None)]
        downgrade(revision="2a7d9c5e3f18")
        assert "first_post_id" not in {
            c["name"] for c in db.inspect(db.engine).get_columns("threads")}


def test_a_new_thread_names_its_first_post(app):
    board, author = make_board(), make_user()
    thread = services.open_thread(board, author, "Premier sujet", "Bonjour")
    services.reply(thread, make_user(), "Réponse")
    assert thread.first_post_id == services.first_post_id(thread)
