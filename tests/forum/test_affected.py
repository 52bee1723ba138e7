"""How many members a report affects, said the way reactions are: its author counts (they
reported it), a reader who said "me too" reads "you and N others", and a pressed button
looks pressed. The same count on the thread, the board listing and Travaux' reports page."""

import pytest
from sqlalchemy import text

from board.extensions import db
from board.forum import services as forum
from tests.factories import make_board, make_thread, make_user
from tests.migrations import database_at


def affected_line(client, thread) -> str:
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    start = page.index('<p class="affected-count">') + len('<p class="affected-count">')
    return " ".join(page[start:page.index("</p>", start)].split())


def test_a_new_report_counts_its_author(client):
    author = make_user()
    thread = make_thread(author=author)
    assert thread.affected_count == 1
    assert affected_line(client, thread) == "1 membre concerné"
    client.login(author.email)
    assert affected_line(client, thread) == "Vous êtes concerné·e"
    client.logout()
    client.login(make_user().email)
    assert affected_line(client, thread) == "1 membre concerné"


def test_a_reader_who_clicked_reads_you_and_the_others(client):
    author = make_user()
    thread = make_thread(author=author)
    for member in [make_user() for _ in range(7)]:
        forum.mark_affected(thread, member)
    reader = make_user()
    client.login(reader.email)
    assert affected_line(client, thread) == "8 membres concernés"
    client.form(f"/threads/{thread.id}/affected", {"affected": "1"})
    assert affected_line(client, thread) == "Vous et 8 autres membres êtes concernés"
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert 'aria-pressed="true">✓' in page
    client.logout()
    client.login(author.email)
    assert affected_line(client, thread) == "Vous et 8 autres membres êtes concernés"
    client.logout()
    assert affected_line(client, thread) == "9 membres concernés"


@pytest.mark.parametrize("clicks, reader_line, guest_line", [
    (1, "You and 1 other member are affected", "2 members affected"),
    (2, "You and 2 other members are affected", "3 members affected"),
])
def test_english_plurals(client, clicks, reader_line, guest_line):
    thread = make_thread()
    members = [make_user(locale="en") for _ in range(clicks)]
    for member in members:
        forum.mark_affected(thread, member)
    client.login(members[0].email)
    assert affected_line(client, thread) == reader_line
    client.logout()
    client.login(make_user(locale="en").email)
    assert affected_line(client, thread) == guest_line


def test_a_pressed_toggle_has_its_own_look(client):
    css = client.get("/static/board.css").get_data(as_text=True)
    assert '.button.secondary[aria-pressed="true"] { background: var(--brand); color: #fff;' in css


def test_the_board_listing_and_the_reports_page_show_the_same_count(client, login_as):
    board = make_board()
    thread = make_thread(board=board, title="Le webmail ne répond plus")
    for member in [make_user() for _ in range(3)]:
        forum.mark_affected(thread, member)
    listing = client.get(f"/boards/{board.slug}").get_data(as_text=True)
    assert '<td class="num" data-label="Concernés">4</td>' in listing
    login_as("moderator")
    reports = client.get("/travaux/reports").get_data(as_text=True)
    assert '<td class="num" data-label="Concernés">4</td>' in reports


def test_the_migration_counts_the_author_of_existing_threads(tmp_path):
    from flask_migrate import downgrade, upgrade

    with database_at(tmp_path, "7db674a23518"):
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, name, password_hash, role, created_at, "
                "session_version) VALUES (1, 'a@example.org', 'A', 'x', 'member', "
                "'2026-01-01 00:00:00', 1), (2, 'b@example.org', 'B', 'x', 'member', "
                "'2026-01-01 00:00:00', 1), (3, 'c@example.org', 'C', 'x', 'member', "
                "'2026-01-01 00:00:00', 1)"))
            conn.execute(text(
                "INSERT INTO boards (id, slug, name, description, position, visibility, "
                "thread_count, post_count) VALUES (1, 'b', 'B', '', 0, 'public', 2, 0)"))
            # The second thread's count had lost a click to the race the counters had.
            conn.execute(text(
                "INSERT INTO threads (id, board_id, author_id, title, slug, created_at, "
                "last_activity_at, post_count, pinned, affected_count) VALUES "
                "(1, 1, 1, 'T', 't', '2026-01-01', '2026-01-01', 0, 0, 0), "
                "(2, 1, 1, 'U', 'u', '2026-01-01', '2026-01-01', 0, 0, 1)"))
            conn.execute(text("INSERT INTO affected (thread_id, user_id, created_at) VALUES "
                              "(2, 2, '2026-01-01'), (2, 3, '2026-01-01')"))
        upgrade(revision="149cd40934a9")
        counts = "SELECT affected_count FROM threads ORDER BY id"
        with db.engine.connect() as conn:
            assert conn.execute(text(counts)).scalars().all() == [1, 3]
        downgrade(revision="7db674a23518")
        with db.engine.connect() as conn:
            assert conn.execute(text(counts)).scalars().all() == [0, 2]
