"""A page costs the same small number of SQL queries whatever the size of the data."""

import pytest
from sqlalchemy import insert, select

from board import pagecache
from board.clock import now
from board.extensions import db
from board.forum import services
from board.forum.models import Post, Thread
from board.forum.reading import ThreadRead
from board.markup import render
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user

# Every page also carries the banner of ongoing operations: 1 query, 2 when there are some
# (their services). A logged-in member costs 1 more (the session user), 2 on a thread page
# (the "affected too" state).
BANNER = 1
THREAD_PAGE_BUDGET = 2 + BANNER  # thread with its board, posts with authors (its post_count)
BOARD_PAGE_BUDGET = 2 + BANNER   # board, threads with authors and last posts (no count)
INDEX_BUDGET = 1 + BANNER        # boards with their last posts
# A guest's page costs one more on a cache miss: its stamp (board/pagecache.py).
STAMP = 1
# Unread tracking (board/forum/reading.py) costs a member one more: a board page reads the
# marks of all its threads at once, a thread page moves the member's mark (one upsert).
READ_MARKS = 1
# A member's thread page reads the draft of their reply (board/forum/drafts.py).
DRAFT = 1
# A member's page costs one more for the bell's count; on a thread page, the same query says
# whether the thread's notifications are to be marked read.
BELL = 1


def add_posts(thread, author, count):
    html = render("Réponse *rapide*")
    db.session.execute(insert(Post), [
        {"thread_id": thread.id, "author_id": author.id, "body_source": "Réponse *rapide*",
         "body_html": html, "created_at": now(), "official": False} for _ in range(count)])
    services.recount_all()


def add_threads(board, authors, count):
    moment = now()
    db.session.execute(insert(Thread), [
        {"board_id": board.id, "author_id": authors[i % len(authors)].id, "title": f"Sujet {i}",
         "slug": f"sujet-{i}", "created_at": moment, "last_activity_at": moment,
         "post_count": 0, "pinned": False} for i in range(count)])
    db.session.commit()
    threads = db.session.scalars(select(Thread).where(Thread.board_id == board.id)).all()
    db.session.execute(insert(Post), [
        {"thread_id": t.id, "author_id": authors[t.id % len(authors)].id, "body_source": "x",
         "body_html": "<p>x</p>", "created_at": moment, "official": False} for t in threads])
    services.recount_all()


def queries_for(client, path):
    client.get(path)  # warm caches (templates, CSRF secret) outside the count
    pagecache.store().clear()  # what it costs to render: a guest's second visit is a hit
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("logged_in", [False, True])
def test_thread_page_costs_the_same_for_20_and_200_posts(client, logged_in):
    author = make_user()
    small, big = make_thread(author=author), make_thread(author=author)
    add_posts(small, author, 19)
    writers = [make_user() for _ in range(10)]
    for writer in writers:
        add_posts(big, writer, 20)
    if logged_in:
        client.login(make_user().email)
    few = queries_for(client, f"/threads/{small.id}/{small.slug}")
    many = queries_for(client, f"/threads/{big.id}/{big.slug}?page=5")
    assert few == many == THREAD_PAGE_BUDGET + (
        2 + READ_MARKS + DRAFT + BELL if logged_in else STAMP)


def test_posts_edited_by_staff_cost_no_query_each(client):
    # "edited by Luc" names the editor: loaded with the posts, not once per post.
    author, moderators = make_user(), [make_user(role="moderator") for _ in range(5)]
    thread = make_thread(author=author, replies=5)
    before = queries_for(client, f"/threads/{thread.id}/{thread.slug}")
    posts = db.session.scalars(select(Post).where(Post.thread_id == thread.id)).all()
    for post, moderator in zip(posts[1:], moderators, strict=True):
        services.edit_post(post, moderator, "Corrigé par l'équipe.")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert page.count("modifié par") == 5
    assert queries_for(client, f"/threads/{thread.id}/{thread.slug}") == before


def test_board_page_costs_the_same_for_30_and_3000_threads(client):
    authors = [make_user() for _ in range(20)]
    small, big = make_board(), make_board()
    add_threads(small, authors, 30)
    add_threads(big, authors, 3000)
    few = queries_for(client, f"/boards/{small.slug}")
    many = queries_for(client, f"/boards/{big.slug}?page=50")
    assert few == many == BOARD_PAGE_BUDGET + STAMP
    client.login(authors[0].email)
    assert queries_for(client, f"/boards/{big.slug}") == BOARD_PAGE_BUDGET + 1 + READ_MARKS + BELL


def test_unread_tracking_costs_the_same_for_few_and_many_marks(client):
    # A member who read part of every thread of a big board, then others replied to them:
    # the board page counts the new messages of all its threads in one query, and a thread
    # page's mark is one statement, whatever the marks held.
    authors = [make_user() for _ in range(5)]
    reader = make_user()
    small, big = make_board(), make_board()
    add_threads(small, authors, 3)
    add_threads(big, authors, 300)
    db.session.execute(insert(ThreadRead), [
        {"user_id": reader.id, "thread_id": t.id, "last_read_post_id": t.first_post_id,
         "read_at": now()} for t in db.session.scalars(select(Thread))])
    db.session.commit()
    threads = db.session.scalars(select(Thread).where(Thread.board_id == big.id)).all()
    for thread in threads[-30:]:
        add_posts(thread, authors[0], 3)
    client.login(reader.email)
    few = queries_for(client, f"/boards/{small.slug}")
    many = queries_for(client, f"/boards/{big.slug}")
    page = client.get(f"/boards/{big.slug}").get_data(as_text=True)
    assert page.count("3 nouveaux messages") == 30
    assert few == many == BOARD_PAGE_BUDGET + 1 + READ_MARKS + BELL
    thread = threads[-1]
    assert queries_for(client, f"/threads/{thread.id}/{thread.slug}") == \
        THREAD_PAGE_BUDGET + 2 + READ_MARKS + DRAFT + BELL


def test_index_costs_the_same_for_few_and_many_boards(client):
    author = make_user()
    make_thread(board=make_board(), author=author)
    few = queries_for(client, "/")
    for _ in range(15):
        make_thread(board=make_board(), author=make_user())
    assert queries_for(client, "/") == few == INDEX_BUDGET + STAMP
