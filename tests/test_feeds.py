"""What every feed shares, whichever domain serves it (board/feeds.py): its head, item ids
and dates, its cap of 50 items, XML that any parser reads whatever the text, no address and no
script, conditional GET and the validators that follow each change, the guest's view, and the
same few queries whatever the number of items.

Each domain's own feeds are tested in its folder: tests/forum/test_feeds.py,
tests/travaux/test_feeds.py and tests/lists/test_feeds.py; tests/feedtools.py reads feeds and
tests/feedsite.py tells the small site they show (the `site` fixture).
"""

import re
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from board.clock import now, travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post, Thread
from board.travaux.models import Incident, IncidentUpdate
from tests.factories import make_board, make_thread, make_user
from tests.feedsite import (
    KINDS,
    add_incidents,
    add_posts,
    add_threads,
    add_updates,
    at,
    make_users,
    move_the_report,
    obj,
    post_ids,
    reply_to_the_question,
)
from tests.feedtools import (
    BASE,
    EMAIL,
    FORMATS,
    MAX_ITEMS,
    SITE_RELATIVE,
    TAG_URI,
    TYPES,
    assert_changed,
    assert_unchanged,
    cost,
    etags,
    hrefs,
    read,
    seconds,
    tag,
    tags_of,
    with_format,
)
from tests.travaux.factories import make_incident, make_service, post_update

# Statements for a full answer and for a 304, per feed (measured, then pinned).
# Each also costs the guest cache's stamp (board/pagecache.py) on a miss; a hit costs it alone.
PAGE_STAMP = 1
FULL_BUDGET = {
    "site": 3 + PAGE_STAMP,      # stamp, threads with authors and boards, their first posts
    "board": 3 + PAGE_STAMP,     # board and stamp, threads with authors and boards, first posts
    "thread": 4 + PAGE_STAMP,    # stamp, thread, posts with authors, its board
    # stamp, incidents with last updates and authors, services, threads, postmortems
    "travaux": 5 + PAGE_STAMP,
    "service": 5 + PAGE_STAMP,   # stamp with the service, then as "travaux" without its stamp
    "incident": 5 + PAGE_STAMP,  # stamp, incident, services, updates with authors, threads
}
CONDITIONAL_BUDGET = 1


# Every feed: its head, ids and dates -------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_feed_head_self_link_language_and_ids(client, site, kind, fmt):
    path = site.path(kind)
    feed = read(client, path, fmt)
    assert feed.self_url == BASE + with_format(path, fmt)
    assert feed.language == "fr"
    assert feed.parsed.feed.get("language") == "fr"
    assert feed.entries
    for entry in feed.entries:
        assert TAG_URI.match(entry.id), entry.id
        assert entry.link.startswith(BASE + "/")
        assert entry.title
        assert entry.author
    assert len(set(feed.ids)) == len(feed.ids)
    # RSS and Atom carry the same items with the same ids.
    other = read(client, path, "atom" if fmt == "rss" else "rss")
    assert other.ids == feed.ids and other.titles == feed.titles


@pytest.mark.parametrize("kind", KINDS)
def test_build_date_is_the_newest_item_not_the_request(client, site, kind):
    path = site.path(kind)
    with travel(timedelta(days=3)):
        atom = read(client, path, "atom")
        rss = read(client, path, "rss")
    assert atom.built == max(e.updated for e in atom.entries)
    newest = {
        "site": lambda: obj(Post, forum.first_post_id(obj(Thread, site.maintenance_thread))),
        "board": lambda: obj(Post, forum.first_post_id(obj(Thread, site.report))),
        "thread": lambda: obj(Post, site.thanks),
        "travaux": lambda: SimpleNamespace(created_at=obj(Incident, site.maintenance).updated_at),
        "service": lambda: SimpleNamespace(created_at=obj(Incident, site.incident).updated_at),
        "incident": lambda: obj(IncidentUpdate, site.identified),
    }[kind]()
    assert atom.built == newest.created_at
    assert rss.built == seconds(atom.built)
    assert atom.built < now() + timedelta(hours=1)  # not the traveled clock
    later = read(client, path, "atom")
    assert later.built == atom.built


def test_feeds_hold_at_most_50_items_newest_first(client, app):
    authors = [make_user() for _ in range(3)]
    board = make_board(slug="grand")
    add_threads(board.id, authors, 60)
    with at(5):
        thread = make_thread(author=authors[0], title="Soixante messages")
        add_posts(thread.id, authors, 59)
        incident = make_incident(authors[0], title="Panne longue")  # and its discussion
        add_updates(incident.id, authors, 59)
    ids = post_ids(thread.id)
    service = make_service("dns", "DNS")
    add_incidents(service.id, authors, 60)
    for fmt in FORMATS:  # one world for both formats: it takes a while to build
        site_feed = read(client, "/feed", fmt)
        assert len(site_feed.entries) == MAX_ITEMS
        assert site_feed.titles == ["Panne longue", "Soixante messages"] + [
            f"Sujet {i}" for i in range(59, 11, -1)]
        feed = read(client, f"/threads/{thread.id}/feed", fmt)
        assert len(feed.entries) == MAX_ITEMS
        assert feed.ids == [tag(f"post-{i}") for i in reversed(ids[10:])]
        assert feed.entries[0].link.endswith(f"?page=3#post-{ids[-1]}")
        assert feed.entries[-1].link.endswith(f"/soixante-messages#post-{ids[10]}")
        updates = read(client, f"/travaux/incidents/{incident.id}/feed", fmt)
        assert len(updates.entries) == MAX_ITEMS
        dates = [e.published for e in updates.entries]
        assert dates == sorted(dates, reverse=True) and len(set(dates)) == MAX_ITEMS
        travaux_feed = read(client, "/travaux/feed?service=dns", fmt)
        assert len(travaux_feed.entries) == MAX_ITEMS
        # Numbered after the one incident opened above: 1 to 60, the 50 newest shown.
        assert travaux_feed.titles == [f"[Recherche en cours] Incident {i}"
                                       for i in range(60, 10, -1)]


def test_atom_entries_have_exactly_one_alternate_link(client, site):
    """feedgen 1.0 drops the rel of entry links (lkiesow/python-feedgen#135): any second link
    would read as a second "alternate", which RFC 4287 forbids."""
    for path in ("/feed", f"/threads/{site.report}/feed", "/travaux/feed",
                 f"/travaux/incidents/{site.incident}/feed"):
        feed = read(client, path, "atom")
        for entry in feed.entries:
            alternates = [href for rel, href in entry.links if rel == "alternate"]
            assert alternates == [entry.link], (path, entry.links)


# What no feed may carry -------------------------------------------------------------------

HOSTILE = "\n\n".join([
    "<script>alert(1)</script>",
    "[clic](javascript:alert(1))",
    "[clic](JaVaScRiPt:alert(1))",
    "[tab](jav&#x09;ascript:alert(1))",
    "![img](javascript:alert(1))",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">lien</a>',
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<svg onload=alert(1)>",
    "[ok](/threads/1) ![ok](/static/logo.png) <iframe src=/x></iframe>",
])


def test_no_address_no_script_no_relative_url_in_any_feed(client, site):
    admin = obj(Incident, site.incident).author
    with at(20):
        forum.reply(obj(Thread, site.question), obj(Post, site.answer).author, HOSTILE)
        hostile = make_thread(board=obj(Thread, site.question).board, author=admin,
                              title="<script>alert('titre')</script> & co", body=HOSTILE)
        post_update(obj(Incident, site.incident), admin, "monitoring", HOSTILE)
    paths = site.paths() + [f"/threads/{hostile.id}/feed"]
    for path in paths:
        for fmt in FORMATS:
            feed = read(client, path, fmt)
            text = feed.raw.decode()
            for address in site.emails:
                assert address not in text, (path, address)
            assert not EMAIL.search(text), (path, EMAIL.search(text))
            assert "<script" not in text.lower()
            for entry in feed.entries:
                assert "<script" not in entry.html.lower(), (path, entry.id)
                assert not SITE_RELATIVE.search(entry.html), (path, entry.html)
                for element, attrs in tags_of(entry.html):
                    assert element not in ("script", "iframe", "svg", "object", "embed")
                    assert not any(name.startswith("on") for name in attrs), (element, attrs)
                for url in hrefs(entry.html):
                    compact = re.sub(r"[\s\x00-\x20]", "", url).lower()
                    assert not compact.startswith(("javascript:", "data:", "vbscript:")), url
                    # Any scheme is a harmless one; a path from the site's root was made
                    # absolute. ("jav%09ascript:..." has no scheme: a harmless relative path.)
                    assert urlsplit(compact).scheme in ("", "http", "https", "mailto"), url
                    assert not url.startswith("/") or url.startswith("//"), url
    thread_feed = read(client, f"/threads/{hostile.id}/feed", "atom")
    assert thread_feed.entries[0].title == "<script>alert('titre')</script> & co"
    assert thread_feed.parsed.entries[0].title == "<script>alert('titre')</script> & co"
    # Site-relative links and images of posts are made absolute.
    question = read(client, "/feed", "rss").entry(f"thread-{site.question}")
    assert f"{BASE}/travaux/" in hrefs(question.html)
    assert f"{BASE}/static/capture.png" in hrefs(question.html)


XML_FORBIDDEN = "\x01\x08\x0b\x0c\x1f\x7f\ufffe"


def test_characters_xml_forbids_never_reach_a_feed(client, app):
    """Control characters a post or a title kept (the forms strip them from titles, not every
    path does) would make the whole feed a 500: board/feeds.py drops them from every text."""
    author = make_user(name=f"Auteur{XML_FORBIDDEN}")
    board = make_board(slug="controle", name=f"Tableau{XML_FORBIDDEN}")
    thread = make_thread(board=board, author=author, title=f"Panne{XML_FORBIDDEN} du serveur",
                         body=f"Le serveur{XML_FORBIDDEN} ne répond plus.")
    incident = make_incident(author, title=f"Panne{XML_FORBIDDEN} du serveur",
                             message=f"Nous{XML_FORBIDDEN} regardons.")
    for path in ("/feed", "/boards/controle/feed", f"/threads/{thread.id}/feed",
                 "/travaux/feed", f"/travaux/incidents/{incident.id}/feed"):
        for fmt in FORMATS:
            feed = read(client, path, fmt)  # well formed, or read() fails
            assert "Panne du serveur" in feed.raw.decode(), (path, fmt)
            assert not any(c in feed.raw.decode() for c in XML_FORBIDDEN), (path, fmt)


# Conditional GET ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_conditional_get(client, site, kind, fmt):
    url = with_format(site.path(kind), fmt)
    first = client.get(url)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith(" GMT")
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert first.headers["Content-Type"] == TYPES[fmt]
    # The validators come from the rows, not from the clock.
    with travel(timedelta(hours=6)):
        later = client.get(url)
    assert later.headers["ETag"] == etag and later.headers["Last-Modified"] == modified
    assert later.data == first.data

    same = client.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.data == b""
    assert same.headers["ETag"] == etag
    assert same.headers.get("Last-Modified") in (None, modified)
    assert same.headers["Cache-Control"] == "public, max-age=60"
    for header in (f'"other", {etag}', "*"):
        assert client.get(url, headers={"If-None-Match": header}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    # A stale or foreign ETag wins over a date that would have matched.
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-None-Match": '"other"',
                                    "If-Modified-Since": modified}).status_code == 200
    earlier = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200

    head = client.head(url)
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == etag
    assert head.headers["Content-Type"] == TYPES[fmt]
    assert head.headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_weak_etag_from_a_proxy_still_matches(client, site, fmt):
    """Proxies that compress (nginx gzip) weaken ETags; If-None-Match compares weakly."""
    url = with_format("/feed", fmt)
    etag = client.get(url).headers["ETag"]
    again = client.get(url, headers={"If-None-Match": f"W/{etag}"})
    assert again.status_code == 304


def _edit_reply(site):
    post = obj(Post, site.answer)
    forum.edit_post(post, post.author, "Videz **aussi** le cache DNS.")


def _edit_first_post(site):
    post = obj(Post, site.first_post)
    forum.edit_post(post, post.author, "Erreur 500, corrigée.")


def _hide_reply(site):
    forum.hide_post(obj(Post, site.answer), make_user(role="moderator"))


def _incident_update(site):
    incident = obj(Incident, site.incident)
    post_update(incident, incident.author, "monitoring", "Les envois repartent.")


CHANGES = {
    # change: (feeds that must change, feeds that must not)
    "reply": (reply_to_the_question, ["site", "board", "thread"], ["travaux", "incident"]),
    "edit-reply": (_edit_reply, ["thread"], ["travaux", "incident"]),
    "edit-first-post": (_edit_first_post, ["site", "board", "thread"], ["travaux"]),
    "hide-post": (_hide_reply, ["thread"], ["travaux", "incident"]),
    "incident-update": (_incident_update, ["travaux", "service", "incident", "report"],
                        ["thread", "/travaux/feed?service=web"]),
    "move": (move_the_report, ["site", "board", "/boards/messagerie/feed"],
             ["incident", "thread"]),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_invalidates_the_feeds_that_show_it(client, site, change, fmt):
    operation, changed, unchanged = CHANGES[change]

    def paths(kinds):
        return [site.path(k) if k in KINDS else f"/threads/{site.report}/feed"
                if k == "report" else k for k in kinds]

    if change == "move":
        make_board(slug="messagerie", name="Messagerie")
    before_changed = etags(client, paths(changed), fmt)
    before_unchanged = etags(client, paths(unchanged), fmt)
    modified = client.get(with_format(paths(changed)[0], fmt)).headers["Last-Modified"]
    with travel(timedelta(minutes=30)):
        operation(site)
    assert_changed(client, before_changed, fmt)
    assert_unchanged(client, before_unchanged, fmt)
    since = client.get(with_format(paths(changed)[0], fmt),
                       headers={"If-Modified-Since": modified})
    assert since.status_code == 200


# Private stays private ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_feeds_are_404(client, site, fmt):
    for path in ("/travaux/feed?service=unknown", "/travaux/feed?service=",
                 "/boards/nope/feed", "/threads/999999/feed", "/travaux/incidents/999999/feed"):
        assert client.get(with_format(path, fmt)).status_code == 404, path


def test_staff_threads_appear_in_no_feed_and_no_list(client, site):
    for path in site.paths():
        for fmt in FORMATS:
            raw = read(client, path, fmt).raw.decode()
            assert "Note interne" not in raw and "hunter2" not in raw, path
            assert f"/threads/{site.secret}/" not in raw, path
            assert "/boards/equipe" not in raw, path
    for path in ("/feeds", "/feeds.opml"):
        text = client.get(path).data.decode()
        assert "/boards/equipe" not in text and "Note interne" not in text
        assert f"/threads/{site.secret}/" not in text
        assert not EMAIL.search(text)


# Query budget -------------------------------------------------------------------------------

class Grower:
    """A feed of `kind` with 5 items, then grown to 60, every item by a different author."""

    def __init__(self, kind: str):
        self.kind = kind
        self.authors = make_users(60, role="admin")
        self.board = make_board(slug="fil")
        self.service = make_service("mail", "Messagerie")
        self.other = make_service("web", "Web")
        if kind in ("site", "board"):
            add_threads(self.board.id, self.authors[:5], 5)
            self.path = "/feed" if kind == "site" else "/boards/fil/feed"
        elif kind == "thread":
            thread = make_thread(board=self.board, author=self.authors[0])
            add_posts(thread.id, self.authors[1:5], 4)
            self.thread_id = thread.id
            self.path = f"/threads/{thread.id}/feed"
        elif kind in ("travaux", "service"):
            add_incidents(self.service.id, self.authors[:5], 5)
            add_incidents(self.other.id, self.authors[:2], 2)
            self.path = "/travaux/feed" + ("?service=mail" if kind == "service" else "")
        else:
            incident = make_incident(self.authors[0], services=[self.service])
            add_updates(incident.id, self.authors[1:5], 4)
            self.incident_id = incident.id
            self.link_threads(3)
            self.path = f"/travaux/incidents/{incident.id}/feed"

    def grow(self):
        if self.kind in ("site", "board"):
            add_threads(self.board.id, self.authors[5:], 55)
        elif self.kind == "thread":
            add_posts(self.thread_id, self.authors[5:], 55)
        elif self.kind in ("travaux", "service"):
            add_incidents(self.service.id, self.authors[5:], 55)
        else:
            add_updates(self.incident_id, self.authors[5:], 55)
            self.link_threads(20)

    def link_threads(self, count: int):
        """`count` more community threads linked to the incident, as link_thread leaves them."""
        add_threads(self.board.id, self.authors, count)
        db.session.execute(update(Thread).where(Thread.board_id == self.board.id,
                                                Thread.incident_id.is_(None))
                           .values(incident_id=self.incident_id))
        db.session.execute(update(Incident).where(Incident.id == self.incident_id)
                           .values(updated_at=now()))
        db.session.commit()

    def items(self, client) -> int:
        """Items in the feed, not counting the 2 incidents of the other service."""
        extra = 2 if self.kind == "travaux" else 0
        return len(read(client, self.path, "rss").entries) - extra


@pytest.mark.parametrize("kind", KINDS)
def test_a_feed_costs_the_same_few_queries_for_5_and_60_items(client, app, kind):
    grower = Grower(kind)
    url = with_format(grower.path, "rss")
    small = cost(client, url)
    assert grower.items(client) == 5
    grower.grow()
    large = cost(client, url)
    assert grower.items(client) == MAX_ITEMS - (2 if kind == "travaux" else 0)
    assert small == large, (small, large)
    assert small[0] == FULL_BUDGET[kind]
    assert small[1] <= CONDITIONAL_BUDGET
