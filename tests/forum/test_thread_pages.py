"""A thread's pages are counted by what its reader sees: the thread's post counter for guests
and members (no count query), every post, hidden ones included, for staff."""

import pytest

from board.extensions import db
from board.forum import services
from board.forum.models import Post
from tests.factories import make_thread, make_user


@pytest.fixture
def thread_with_a_hidden_reply(app):
    """20 posts shown (a page and no more), and a 21st reply hidden by a moderator."""
    thread = make_thread(replies=20)
    moderator = make_user(role="moderator")
    services.hide_post(db.session.get(Post, thread.last_post_id), moderator)
    return thread


def pages_link(html: str, thread) -> bool:
    return f'href="/threads/{thread.id}/{thread.slug}?page=2"' in html


@pytest.mark.parametrize("role", [None, "member"])
def test_guests_and_members_get_the_pages_of_the_posts_they_see(client, login_as, role,
                                                                thread_with_a_hidden_reply):
    thread = thread_with_a_hidden_reply
    if role:
        login_as(role)
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert thread.post_count == 20
    assert html.count('<article class="post') == 20 and not pages_link(html, thread)
    assert client.get(f"/threads/{thread.id}/{thread.slug}?page=2").status_code == 404


def test_staff_get_a_page_more_for_the_hidden_reply(client, login_as, thread_with_a_hidden_reply):
    thread = thread_with_a_hidden_reply
    login_as("moderator")
    first = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert pages_link(first, thread)
    second = client.get(f"/threads/{thread.id}/{thread.slug}?page=2").get_data(as_text=True)
    assert second.count('<article class="post') == 1 and "hidden-item" in second
