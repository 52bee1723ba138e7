"""A board listing's rows, each drawn once for what it shows.

A board page is thirty rows of badges, two links, two dates and two "by" lines: drawn with
Jinja, they are most of the page's cost, and every reader of the page (members too, whose
pages the guest cache never keeps) draws the same rows again. So each row is kept, in this
process, under a key made of everything it shows: the thread's fields, its author's and its
last poster's names, its service's name, the language and zone, and how each date reads now
(`when_shown`: "il y a 3 minutes" is the same row until it says 4). A row is never stale: any
change to what it shows is a new key, and nothing needs to know which rows a write moves.
What differs from one member to the next (what is new for them) is drawn around it, live.
"""

from flask import current_app, get_template_attribute, request
from markupsafe import Markup

from board.forum.models import Thread
from board.i18n import language_key, when_shown
from board.pagecache import MemoryStore
from board.visibility import guest_restriction

ROWS_KEPT = 2000
# The key is exact: the time limit only lets rows that no page shows any more go.
ROW_SECONDS = 3600


def board_rows(threads: list[Thread], marks: dict) -> list[Markup]:
    """The rows of `threads` in a board listing (loaded by board/forum/listing.py), with what
    is new in each for the member (`marks`: board/forum/reading.py's `page_marks`)."""
    kept = current_app.extensions["board_rows"]
    name_of = current_app.extensions.get("service_name")
    page_key = (language_key(), request.script_root)
    rows = []
    for thread in threads:
        hidden = guest_restriction(thread) == "hidden"
        service = name_of(thread.service_id) if thread.service_id and name_of else None
        last_at = thread.last_post_at
        # when_shown is None on the static site (dates in full): its rows are keys of their own.
        key = (page_key, thread.id, thread.slug, thread.title, thread.pinned,
               thread.locked_at is None, hidden, thread.incident_id is None,
               thread.resolved_at is None, service, thread.solution_post_id is None,
               thread.author_name, thread.created_at, when_shown(thread.created_at),
               thread.affected_count, thread.post_count, thread.last_post_id,
               thread.last_poster_name, last_at, last_at and when_shown(last_at))
        if (parts := kept.get(key)) is None:
            parts = _drawn(thread, hidden, service)
            kept.set(key, parts, ROW_SECONDS)
        head, tail = parts
        mark = marks.get(thread.id)
        rows.append(head + tail if mark is None else head + get_template_attribute(
            "forum/_thread_marks.html", "thread_marks")(thread, mark) + tail)
    return rows


def _drawn(thread: Thread, hidden: bool, service: str | None) -> tuple[Markup, Markup]:
    """The row without the marks, as the parts before and after them."""
    head = get_template_attribute("forum/_board_row.html", "row_head")
    tail = get_template_attribute("forum/_board_row.html", "row_tail")
    return head(thread, hidden, service), tail(thread)


def init_app(app) -> None:
    app.extensions["board_rows"] = MemoryStore(size=ROWS_KEPT)
    app.jinja_env.globals["board_rows"] = board_rows
