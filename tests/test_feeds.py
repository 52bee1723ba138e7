"""RSS and Atom feeds as feed readers, shared caches and crawlers see them.

Every feed is read twice over: by feedparser (what a reader makes of it) and as raw XML (what
the document says exactly). Dates are checked against the rows, never against the clock: the
clock is moved between writing and fetching (board.clock.travel) to prove it.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import urlsplit

import feedparser
import pytest
from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update

from board.accounts.models import User
from board.clock import now, travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board, Post, Thread
from board.markup import render
from board.travaux.models import Incident, IncidentUpdate, incident_services
from tests.conftest import count_queries, empty_database
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, make_incident, make_service, post_update

BASE = "http://board.test"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"atom": ATOM, "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FORMATS = ("rss", "atom")
TYPES = {"rss": "application/rss+xml; charset=utf-8",
         "atom": "application/atom+xml; charset=utf-8"}
KINDS = ("site", "board", "thread", "travaux", "service", "incident")
MAX_ITEMS = 50

TAG_URI = re.compile(r"^tag:board\.test,\d{4}(?:-\d\d){0,2}:(?:thread|post|incident|update)-\d+$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$")
RFC822 = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug"
                    r"|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d (?:[+-]\d{4}|GMT|UT)$")
# An address: something@ a dotted domain (tag: URIs and "@" alone do not match).
EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
SITE_RELATIVE = re.compile(r'(?:href|src)="/(?!/)')

# Statements for a full answer and for a 304, per feed (measured, then pinned).
FULL_BUDGET = {
    "site": 3,      # stamp, threads with authors and boards, their first posts
    "board": 3,     # board and stamp, threads with authors and boards, their first posts
    "thread": 4,    # stamp, thread, posts with authors, its board
    "travaux": 4,   # stamp, incidents with last updates and authors, services, threads
    "service": 4,   # stamp with the service, then as "travaux" without its stamp
    "incident": 5,  # stamp, incident, services, updates with authors, threads
}
CONDITIONAL_BUDGET = 1


# Reading feeds ----------------------------------------------------------------------------

@dataclass
class Entry:
    id: str
    title: str
    link: str                 # the permalink (RSS <link>, Atom alternate)
    links: list[tuple[str, str]]  # Atom: every (rel, href); RSS: [("alternate", link)]
    published: datetime
    updated: datetime | None  # Atom only
    html: str
    author: str
    categories: list[str]     # RSS: labels; Atom: terms
    labels: list[str]         # RSS and Atom: labels


@dataclass
class Feed:
    fmt: str
    raw: bytes
    parsed: feedparser.FeedParserDict
    title: str
    self_url: str
    page_url: str
    language: str
    built: datetime
    entries: list[Entry] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.entries]

    @property
    def titles(self) -> list[str]:
        return [e.title for e in self.entries]

    def entry(self, key: str) -> Entry:
        [found] = [e for e in self.entries if e.id.endswith(f":{key}")]
        return found

    def has(self, key: str) -> bool:
        return any(e.id.endswith(f":{key}") for e in self.entries)


def tag(key: str) -> str:
    """The id of an item: a tag: URI on BASE_URL's host and FEED_TAG_DATE."""
    return f"tag:board.test,{current_app.config['FEED_TAG_DATE']}:{key}"


def with_format(path: str, fmt: str) -> str:
    """"/travaux/feed?service=mail" in "rss" → "/travaux/feed.rss?service=mail"."""
    base, _sep, query = path.partition("?")
    return f"{base}.{fmt}" + (f"?{query}" if query else "")


def rfc822(text: str) -> datetime:
    assert RFC822.match(text), text
    return parsedate_to_datetime(text)


def rfc3339(text: str) -> datetime:
    assert RFC3339.match(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read(client, path: str, fmt: str, **kwargs) -> Feed:
    """GET a feed (path without extension), check it is well formed, and parse it."""
    url = with_format(path, fmt)
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers["Content-Type"] == TYPES[fmt]
    return parse(response.data, fmt)


def parse(raw: bytes, fmt: str) -> Feed:
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if fmt == "rss" else "atom10")
    root = ET.fromstring(raw)
    feed = _parse_rss(root) if fmt == "rss" else _parse_atom(root)
    feed.fmt, feed.raw, feed.parsed = fmt, raw, parsed
    # feedparser reads the same items, in the same order, with the same ids and links.
    assert [e.id for e in parsed.entries] == feed.ids
    assert [e.link for e in parsed.entries] == [e.link for e in feed.entries]
    assert [e.title for e in parsed.entries] == feed.titles
    for entry in parsed.entries:
        assert entry.published_parsed is not None
        if fmt == "rss":
            assert entry.guidislink is False
    return feed


def _parse_rss(root) -> Feed:
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    [self_link] = channel.findall("atom:link[@rel='self']", NS)
    entries = []
    for item in channel.findall("item"):
        guid = item.find("guid")
        assert guid.get("isPermaLink") == "false"
        creators = item.findall("dc:creator", NS)
        assert len(creators) == 1
        assert item.find("author") is None  # RSS <author> would have to be an address
        labels = [c.text for c in item.findall("category")]
        entries.append(Entry(
            id=guid.text, title=item.findtext("title"), link=item.findtext("link"),
            links=[("alternate", item.findtext("link"))],
            published=rfc822(item.findtext("pubDate")), updated=None,
            html=item.findtext("description"), author=creators[0].text,
            categories=labels, labels=labels))
    return Feed(fmt="rss", raw=b"", parsed=None, title=channel.findtext("title"),
                self_url=self_link.get("href"), page_url=channel.findtext("link"),
                language=channel.findtext("language"),
                built=rfc822(channel.findtext("lastBuildDate")), entries=entries)


def _parse_atom(root) -> Feed:
    assert root.tag == f"{{{ATOM}}}feed"
    [self_link] = root.findall("atom:link[@rel='self']", NS)
    [page] = [link for link in root.findall("atom:link", NS)
              if link.get("rel", "alternate") == "alternate"]
    entries = []
    for node in root.findall("atom:entry", NS):
        links = [(link.get("rel", "alternate"), link.get("href"))
                 for link in node.findall("atom:link", NS)]
        content = node.find("atom:content", NS)
        assert content.get("type") == "html"
        categories = node.findall("atom:category", NS)
        entries.append(Entry(
            id=node.findtext("atom:id", namespaces=NS),
            title=node.findtext("atom:title", namespaces=NS),
            link=next(href for rel, href in links if rel == "alternate"), links=links,
            published=rfc3339(node.findtext("atom:published", namespaces=NS)),
            updated=rfc3339(node.findtext("atom:updated", namespaces=NS)),
            html=content.text, author=node.findtext("atom:author/atom:name", namespaces=NS),
            categories=[c.get("term") for c in categories],
            labels=[c.get("label") or c.get("term") for c in categories]))
    return Feed(fmt="atom", raw=b"", parsed=None, title=root.findtext("atom:title", namespaces=NS),
                self_url=self_link.get("href"), page_url=page.get("href"),
                language=root.get(XML_LANG),
                built=rfc3339(root.findtext("atom:updated", namespaces=NS)), entries=entries)


def seconds(moment: datetime) -> datetime:
    """RSS dates have no fraction of a second."""
    return moment.replace(microsecond=0)


def same_time(fmt: str, shown: datetime, stored: datetime) -> bool:
    return shown == (seconds(stored) if fmt == "rss" else stored)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags_of(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def hrefs(html: str) -> list[str]:
    return [attrs[name] for _tag, attrs in tags_of(html) for name in ("href", "src")
            if name in attrs]


# A small site -----------------------------------------------------------------------------

class Site(SimpleNamespace):
    """Two boards (one staff-only), a question with replies, an incident with its discussion
    and a linked report, a maintenance next week. Ids only, so that reading them costs no SQL."""

    def path(self, kind: str) -> str:
        return {
            "site": "/feed",
            "board": "/boards/general/feed",
            "thread": f"/threads/{self.question}/feed",
            "travaux": "/travaux/feed",
            "service": "/travaux/feed?service=mail",
            "incident": f"/travaux/incidents/{self.incident}/feed",
        }[kind]

    def paths(self) -> list[str]:
        return [self.path(kind) for kind in KINDS] + [
            "/boards/travaux/feed", f"/threads/{self.report}/feed",
            f"/threads/{self.discussion}/feed", "/travaux/feed?service=web",
            f"/travaux/incidents/{self.maintenance}/feed"]


QUESTION_BODY = ("Mon site renvoie une erreur 500, voir [le statut](/travaux/) et la capture "
                 "![capture](/static/capture.png).")


def at(minutes: int):
    """A moment of the story: minutes from now, so that every row has its own time."""
    return travel(timedelta(minutes=minutes))


_SNAPSHOT: dict = {}


@pytest.fixture
def site(app) -> Site:
    """The story below, told once per run through the services, then copied back row by row
    into each test's emptied database (about twenty statements instead of three hundred)."""
    if not _SNAPSHOT:
        _SNAPSHOT["site"] = tell_the_story()
        _SNAPSHOT["rows"] = dump_rows()
    else:
        restore_rows(_SNAPSHOT["rows"])
    return Site(**vars(_SNAPSHOT["site"]))


def dump_rows() -> dict[str, list[dict]]:
    return {table.name: [dict(row._mapping) for row in db.session.execute(table.select())]
            for table in db.metadata.sorted_tables}


def restore_rows(rows: dict[str, list[dict]]) -> None:
    """Empty the database (whatever the `app` fixture seeded is in the copy too), insert the
    rows table by table; the columns that point forward (use_alter foreign keys, which close
    the cycles boards → posts → threads → incidents) are set afterwards."""
    empty_database()
    later = []
    for table in db.metadata.sorted_tables:
        data = rows[table.name]
        if not data:
            continue
        forward = sorted({fk.parent.name for fk in table.foreign_keys if fk.use_alter})
        db.session.execute(table.insert(), [{**row, **dict.fromkeys(forward)} for row in data])
        pointing = [row for row in data if any(row[c] is not None for c in forward)]
        if pointing:
            later.append((table, forward, pointing))
    for table, forward, pointing in later:
        stmt = (table.update().where(table.c.id == bindparam("row_id"))
                .values({c: bindparam(f"new_{c}") for c in forward}))
        db.session.execute(stmt, [{"row_id": row["id"], **{f"new_{c}": row[c] for c in forward}}
                                  for row in pointing])
    db.session.commit()


def tell_the_story() -> Site:
    alice = make_user(name="Alice Martin", email="alice.martin@example.org")
    bob = make_user(name="Bob Durand", email="bob.durand@exemple.fr")
    admin = make_user(role="admin", name="Équipe technique", email="astreinte@hebergeur.example")
    moderator = make_user(role="moderator", name="Modération", email="modo@hebergeur.example")
    web = make_service("web", "Hébergement web", position=1)
    mail = make_service("mail", "Messagerie", position=2)
    web.legacy_id, mail.legacy_id = 12, 7
    general = make_board(slug="general", name="Questions & réponses")
    staff = make_board(visibility="staff", slug="equipe", name="Équipe")
    with at(1):
        question = make_thread(board=general, author=alice, title="Mon site affiche une erreur",
                               body=QUESTION_BODY)
    with at(2):
        answer = forum.reply(question, bob, "Essayez de **vider** le cache.")
    with at(3):
        thanks = forum.reply(question, alice, "Merci, c'est réparé !")
    with at(4):
        secret = make_thread(board=staff, author=admin, title="Note interne très secrète",
                             body="Mot de passe du routeur : hunter2")
    with at(5):
        incident = make_incident(admin, services=[mail], title="Lenteurs de la messagerie",
                                 impact="major", message="Nous enquêtons.")
    with at(6):
        report = make_thread(board=general, author=bob, title="Mes mails n'arrivent plus",
                             body="Depuis ce matin, plus rien.")
    with at(7):
        link_thread(incident, report, admin)
        link_thread(incident, secret, admin)
    with at(8):
        identified = post_update(incident, admin, "identified", "Un serveur est saturé.")
    with at(9):
        start = now() + timedelta(days=7)
        maintenance = make_incident(admin, kind="maintenance", services=[web],
                                    title="Mise à jour de PHP", impact="minor",
                                    message="Coupures brèves.",
                                    window=(start, start + timedelta(hours=2)))
    discussion = db.session.scalar(select(Thread.id).where(
        Thread.incident_id == incident.id, Thread.id != report.id, Thread.id != secret.id))
    maintenance_thread = db.session.scalar(select(Thread.id).where(
        Thread.incident_id == maintenance.id))
    opening = db.session.scalar(select(func.min(IncidentUpdate.id)).where(
        IncidentUpdate.incident_id == incident.id))
    db.session.commit()
    return Site(
        moderator_email=moderator.email, question=question.id, question_slug=question.slug,
        answer=answer.id, thanks=thanks.id, first_post=forum.first_post_id(question),
        secret=secret.id, incident=incident.id, report=report.id, report_slug=report.slug,
        discussion=discussion, maintenance=maintenance.id, maintenance_thread=maintenance_thread,
        opening=opening, identified=identified.id,
        emails=[u.email for u in (alice, bob, admin, moderator)])


def obj(model, ident):
    return db.session.get(model, ident)


def thread_link(thread_id: int, slug: str, query: str = "", anchor: str = "") -> str:
    return f"{BASE}/threads/{thread_id}/{slug}{query}{anchor}"


# Every feed: well formed, the right items ---------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_site_feed_lists_public_threads_newest_first(client, site, fmt):
    feed = read(client, "/feed", fmt)
    assert feed.titles == ["Mise à jour de PHP", "Mes mails n'arrivent plus",
                           "Lenteurs de la messagerie", "Mon site affiche une erreur"]
    assert feed.ids == [tag(f"thread-{i}") for i in (
        site.maintenance_thread, site.report, site.discussion, site.question)]
    question = feed.entry(f"thread-{site.question}")
    assert question.link == thread_link(site.question, site.question_slug)
    assert question.author == "Alice Martin"
    first = obj(Post, site.first_post)
    assert same_time(fmt, question.published, first.created_at)
    assert "vider" not in question.html  # a thread's item is its first post, not its replies
    assert "erreur 500" in question.html
    assert feed.page_url == f"{BASE}/"
    assert [e.published for e in feed.entries] == sorted(
        (e.published for e in feed.entries), reverse=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_board_feed_lists_its_own_threads_only(client, site, fmt):
    feed = read(client, "/boards/general/feed", fmt)
    assert feed.titles == ["Mes mails n'arrivent plus", "Mon site affiche une erreur"]
    assert feed.ids == [tag(f"thread-{site.report}"),
                        tag(f"thread-{site.question}")]
    assert feed.page_url == f"{BASE}/boards/general"
    travaux_board = read(client, "/boards/travaux/feed", fmt)
    assert travaux_board.titles == ["Mise à jour de PHP", "Lenteurs de la messagerie"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_thread_feed_lists_posts_newest_first_with_permalinks(client, site, fmt):
    feed = read(client, f"/threads/{site.question}/feed", fmt)
    assert feed.ids == [tag(f"post-{i}")
                        for i in (site.thanks, site.answer, site.first_post)]
    # The first post carries the thread's title; replies name their author and the thread.
    assert feed.titles[2] == "Mon site affiche une erreur"
    for entry, name in zip(feed.entries[:2], ("Alice Martin", "Bob Durand"), strict=True):
        assert entry.title.startswith(name) and "Mon site affiche une erreur" in entry.title
        assert entry.author == name
    assert [e.link for e in feed.entries] == [
        thread_link(site.question, site.question_slug, anchor=f"#post-{i}")
        for i in (site.thanks, site.answer, site.first_post)]
    for entry, post_id in zip(feed.entries, (site.thanks, site.answer, site.first_post),
                              strict=True):
        post = obj(Post, post_id)
        assert same_time(fmt, entry.published, post.created_at)
        if fmt == "atom":
            assert entry.updated == post.created_at  # never edited
    assert "<strong>vider</strong>" in feed.entry(f"post-{site.answer}").html
    assert feed.page_url == thread_link(site.question, site.question_slug)


@pytest.mark.parametrize("fmt", FORMATS)
def test_travaux_feeds_list_incidents_and_maintenance_with_their_state(client, site, fmt):
    everything = read(client, "/travaux/feed", fmt)
    assert everything.titles == ["[Programmée] Mise à jour de PHP",
                                 "[Identifié] Lenteurs de la messagerie"]
    assert everything.ids == [tag(f"incident-{site.maintenance}"),
                              tag(f"incident-{site.incident}")]
    assert [e.link for e in everything.entries] == [
        f"{BASE}/travaux/incidents/{site.maintenance}", f"{BASE}/travaux/incidents/{site.incident}"]
    assert everything.page_url == f"{BASE}/travaux/"
    incident = obj(Incident, site.incident)
    entry = everything.entry(f"incident-{site.incident}")
    assert same_time(fmt, entry.published, incident.created_at)
    if fmt == "atom":
        assert entry.updated == incident.updated_at
    assert entry.author == "Équipe technique"
    assert "Un serveur est saturé." in entry.html

    mail = read(client, "/travaux/feed?service=mail", fmt)
    assert mail.titles == ["[Identifié] Lenteurs de la messagerie"]
    web = read(client, "/travaux/feed?service=web", fmt)
    assert web.titles == ["[Programmée] Mise à jour de PHP"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_incident_feed_lists_its_updates_with_permalinks(client, site, fmt):
    feed = read(client, f"/travaux/incidents/{site.incident}/feed", fmt)
    assert feed.titles == ["[Identifié] Lenteurs de la messagerie",
                           "[Recherche en cours] Lenteurs de la messagerie"]
    assert feed.ids == [tag(f"update-{site.identified}"),
                        tag(f"update-{site.opening}")]
    assert [e.link for e in feed.entries] == [
        f"{BASE}/travaux/incidents/{site.incident}#update-{i}"
        for i in (site.identified, site.opening)]
    for entry, update_id in zip(feed.entries, (site.identified, site.opening), strict=True):
        assert same_time(fmt, entry.published, obj(IncidentUpdate, update_id).created_at)
    assert "Un serveur est saturé." in feed.entries[0].html
    assert "Nous enquêtons." in feed.entries[1].html
    assert feed.page_url == f"{BASE}/travaux/incidents/{site.incident}"
    # The anchors exist on the incident's page.
    page = client.get(f"/travaux/incidents/{site.incident}")
    for update_id in (site.identified, site.opening):
        assert f'id="update-{update_id}"'.encode() in page.data


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


@pytest.mark.parametrize("fmt", FORMATS)
def test_maintenance_is_dated_by_its_publication_not_its_window(client, site, fmt):
    maintenance = obj(Incident, site.maintenance)
    for path in ("/travaux/feed", f"/travaux/incidents/{site.maintenance}/feed"):
        feed = read(client, path, fmt)
        entry = feed.entries[0]
        assert entry.title == "[Programmée] Mise à jour de PHP"
        assert same_time(fmt, entry.published, maintenance.created_at)
        assert entry.published < maintenance.window_start - timedelta(days=6)
        if fmt == "atom":
            assert entry.updated < maintenance.window_start - timedelta(days=6)


# Ids and dates through edits and updates ----------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_an_edit_keeps_ids_and_publication_dates_and_moves_atom_updated(client, site, fmt):
    thread_path, site_path = f"/threads/{site.question}/feed", "/feed"
    before = read(client, thread_path, fmt), read(client, site_path, fmt)
    with travel(timedelta(hours=5)):
        forum.edit_post(obj(Post, site.answer), obj(Post, site.answer).author,
                        "Essayez de vider le cache **du navigateur**.")
        forum.edit_post(obj(Post, site.first_post), obj(Post, site.first_post).author,
                        "Erreur 500 sur tout le site.", title="Erreur 500 partout")
    after = read(client, thread_path, fmt), read(client, site_path, fmt)
    for old, new in zip(before, after, strict=True):
        assert new.ids == old.ids
        assert [e.published for e in new.entries] == [e.published for e in old.entries]
    thread_feed, site_feed = after
    edited = thread_feed.entry(f"post-{site.answer}")
    assert "<strong>du navigateur</strong>" in edited.html
    assert edited.link == before[0].entry(f"post-{site.answer}").link.replace(
        site.question_slug, "erreur-500-partout")
    question = site_feed.entry(f"thread-{site.question}")
    assert question.title == "Erreur 500 partout"
    assert "Erreur 500 sur tout le site." in question.html
    if fmt == "atom":
        answer_edited_at = obj(Post, site.answer).edited_at
        assert edited.updated == answer_edited_at
        assert edited.updated > before[0].entry(f"post-{site.answer}").updated
        assert question.updated == obj(Post, site.first_post).edited_at
        assert thread_feed.entry(f"post-{site.thanks}").updated == \
            before[0].entry(f"post-{site.thanks}").updated


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_incident_update_keeps_the_item_id_and_changes_its_title(client, site, fmt):
    before = read(client, "/travaux/feed", fmt)
    old = before.entry(f"incident-{site.incident}")
    with travel(timedelta(hours=2)):
        resolved = post_update(obj(Incident, site.incident), obj(Incident, site.incident).author,
                               "resolved", "Tout est rentré dans l'ordre.")
    after = read(client, "/travaux/feed", fmt)
    assert after.ids == before.ids
    entry = after.entry(f"incident-{site.incident}")
    assert entry.title == "[Résolu] Lenteurs de la messagerie"
    assert entry.published == old.published
    assert "Tout est rentré dans l'ordre." in entry.html
    assert "resolved" in entry.categories or "Résolu" in entry.labels
    if fmt == "atom":
        assert entry.updated == obj(IncidentUpdate, resolved.id).created_at > old.updated
    # The incident's own feed gains an item; the earlier ones keep their ids and titles.
    feed = read(client, f"/travaux/incidents/{site.incident}/feed", fmt)
    assert feed.ids == [tag(f"update-{i}")
                        for i in (resolved.id, site.identified, site.opening)]
    assert feed.titles == ["[Résolu] Lenteurs de la messagerie",
                           "[Identifié] Lenteurs de la messagerie",
                           "[Recherche en cours] Lenteurs de la messagerie"]
    assert feed.entries[0].link == f"{BASE}/travaux/incidents/{site.incident}#update-{resolved.id}"


# Permalinks to the right page -------------------------------------------------------------

def add_posts(thread_id: int, authors: list, count: int, body: str = "Réponse *rapide*"):
    """`count` posts in a thread, one second apart, in one statement, counters kept."""
    html, start = render(body), now()
    db.session.execute(insert(Post), [
        {"thread_id": thread_id, "author_id": authors[i % len(authors)].id,
         "body_source": body, "body_html": html, "created_at": start + timedelta(seconds=i + 1),
         "official": False} for i in range(count)])
    forum.recount_all()


def post_ids(thread_id: int) -> list[int]:
    return db.session.scalars(select(Post.id).where(Post.thread_id == thread_id)
                              .order_by(Post.created_at, Post.id)).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_thread_feed_links_posts_past_the_first_page_to_their_page(client, app, fmt):
    per_page = app.config["POSTS_PER_PAGE"]
    author = make_user()
    thread = make_thread(author=author, title="Un long sujet")
    thread_id, slug = thread.id, thread.slug
    add_posts(thread_id, [author, make_user()], per_page + 4)
    ids = post_ids(thread_id)
    # A hidden post on page 1 moves the next ones up a place, as on the page a guest sees.
    forum.hide_post(obj(Post, ids[3]), make_user(role="moderator"))
    visible = ids[:3] + ids[4:]
    feed = read(client, f"/threads/{thread_id}/feed", fmt)
    assert feed.ids == [tag(f"post-{i}") for i in reversed(visible)]
    expected = {post_id: thread_link(thread_id, slug, "" if n < per_page else "?page=2",
                                     f"#post-{post_id}") for n, post_id in enumerate(visible)}
    assert {int(e.id.rsplit("-", 1)[1]): e.link for e in feed.entries} == expected
    assert expected[visible[per_page]].endswith(f"?page=2#post-{visible[per_page]}")
    # Each link leads to the page that shows that post.
    for post_id in (visible[0], visible[per_page - 1], visible[per_page], visible[-1]):
        parts = urlsplit(expected[post_id])
        page = client.get(f"{parts.path}?{parts.query}" if parts.query else parts.path)
        assert page.status_code == 200
        assert f'id="post-{post_id}"'.encode() in page.data, expected[post_id]


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


# What the items say -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_categories_name_boards_services_and_states(client, site, fmt):
    rss = fmt == "rss"
    site_feed = read(client, "/feed", fmt)
    question = site_feed.entry(f"thread-{site.question}")
    assert question.labels == ["Questions & réponses"]
    if not rss:
        assert question.categories == ["general"]
    report = site_feed.entry(f"thread-{site.report}")
    assert report.labels == ["Questions & réponses", "Incident officiel"]
    if not rss:
        assert report.categories == ["general", "incident"]

    thread_feed = read(client, f"/threads/{site.report}/feed", fmt)
    relayed = thread_feed.entries[0]  # the relayed "identified" update: an official answer
    assert relayed.labels == ["Questions & réponses", "Réponse officielle"]
    assert thread_feed.entries[-1].labels == ["Questions & réponses"]

    travaux_feed = read(client, "/travaux/feed", fmt)
    incident = travaux_feed.entry(f"incident-{site.incident}")
    maintenance = travaux_feed.entry(f"incident-{site.maintenance}")
    assert incident.labels == ["incident", "Identifié", "Messagerie"]
    assert maintenance.labels == ["maintenance", "Programmée", "Hébergement web"]
    if not rss:
        assert incident.categories == ["incident", "identified", "mail"]
        assert maintenance.categories == ["maintenance", "scheduled", "web"]
    updates = read(client, f"/travaux/incidents/{site.incident}/feed", fmt)
    assert [e.labels[1] for e in updates.entries] == ["Identifié", "Recherche en cours"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_authors_are_names(client, site, fmt):
    thread_feed = read(client, f"/threads/{site.question}/feed", fmt)
    assert [e.author for e in thread_feed.entries] == ["Alice Martin", "Bob Durand",
                                                       "Alice Martin"]
    assert [e.get("author") for e in thread_feed.parsed.entries] == [
        "Alice Martin", "Bob Durand", "Alice Martin"]
    travaux_feed = read(client, "/travaux/feed", fmt)
    assert {e.author for e in travaux_feed.entries} == {"Équipe technique"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_linked_thread_says_so_and_links_its_incident(client, site, fmt):
    incident_url = f"{BASE}/travaux/incidents/{site.incident}"
    for path in ("/feed", "/boards/general/feed"):
        feed = read(client, path, fmt)
        report = feed.entry(f"thread-{site.report}")
        assert incident_url in hrefs(report.html)
        assert "Incident officiel" in report.labels
        question = feed.entry(f"thread-{site.question}")
        assert not any("/travaux/incidents/" in h for h in hrefs(question.html))
        assert "Incident officiel" not in question.labels
    # In the thread's own feed, every message links the incident, not only relayed updates.
    report_feed = read(client, f"/threads/{site.report}/feed", fmt)
    assert len(report_feed.entries) == 3
    for entry in report_feed.entries:
        assert incident_url in hrefs(entry.html), entry.id
    for entry in read(client, f"/threads/{site.question}/feed", fmt).entries:
        assert not any("/travaux/incidents/" in h for h in hrefs(entry.html))


@pytest.mark.parametrize("fmt", FORMATS)
def test_incident_items_link_their_public_community_threads(client, site, fmt):
    public = {thread_link(site.discussion, "lenteurs-de-la-messagerie"),
              thread_link(site.report, site.report_slug)}
    forum.hide_thread(obj(Thread, site.report), obj(Incident, site.incident).author)
    public.discard(thread_link(site.report, site.report_slug))
    for path in ("/travaux/feed?service=mail", f"/travaux/incidents/{site.incident}/feed"):
        feed = read(client, path, fmt)
        for entry in feed.entries:
            linked = {h for h in hrefs(entry.html) if "/threads/" in h}
            assert linked == public, (path, linked)
            # Never the staff-only note nor the hidden report, not even as text.
            assert f"/threads/{site.secret}/" not in entry.html
            assert f"/threads/{site.report}/" not in entry.html


def test_atom_entries_have_exactly_one_alternate_link(client, site):
    """feedgen 1.0 drops the rel of entry links (lkiesow/python-feedgen#135): any second link
    would read as a second "alternate", which RFC 4287 forbids."""
    for path in ("/feed", f"/threads/{site.report}/feed", "/travaux/feed",
                 f"/travaux/incidents/{site.incident}/feed"):
        feed = read(client, path, "atom")
        for entry in feed.entries:
            alternates = [href for rel, href in entry.links if rel == "alternate"]
            assert alternates == [entry.link], (path, entry.links)


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


def test_feed_text_is_in_french(client, site):
    site_feed = read(client, "/feed", "rss")
    assert site_feed.title == "Communauté\u00a0: derniers sujets"
    assert "Incident officiel\u00a0:" in site_feed.entry(f"thread-{site.report}").html
    thread_feed = read(client, f"/threads/{site.question}/feed", "atom")
    assert thread_feed.titles[0] == "Alice Martin dans « Mon site affiche une erreur »"
    incident = read(client, "/travaux/feed", "atom").entry(f"incident-{site.incident}")
    assert "Sujets de la communauté\u00a0:" in incident.html


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


def etags(client, paths: list[str], fmt: str) -> dict[str, str]:
    result = {}
    for path in paths:
        response = client.get(with_format(path, fmt))
        assert response.status_code == 200, path
        result[path] = response.headers["ETag"]
    return result


def assert_changed(client, before: dict[str, str], fmt: str) -> None:
    for path, etag in before.items():
        response = client.get(with_format(path, fmt), headers={"If-None-Match": etag})
        assert response.status_code == 200, f"{path} still answers 304"
        assert response.headers["ETag"] != etag


def assert_unchanged(client, before: dict[str, str], fmt: str) -> None:
    for path, etag in before.items():
        response = client.get(with_format(path, fmt), headers={"If-None-Match": etag})
        assert response.status_code == 304, f"{path} changed"


def _reply(site):
    forum.reply(obj(Thread, site.question), obj(Post, site.answer).author, "Et maintenant ?")


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


def _move_to_existing_board(site):
    target = db.session.scalar(select(Board).where(Board.slug == "messagerie"))
    forum.move(obj(Thread, site.report), target, make_user(role="moderator"))


CHANGES = {
    # change: (feeds that must change, feeds that must not)
    "reply": (_reply, ["site", "board", "thread"], ["travaux", "incident"]),
    "edit-reply": (_edit_reply, ["thread"], ["travaux", "incident"]),
    "edit-first-post": (_edit_first_post, ["site", "board", "thread"], ["travaux"]),
    "hide-post": (_hide_reply, ["thread"], ["travaux", "incident"]),
    "incident-update": (_incident_update, ["travaux", "service", "incident", "report"],
                        ["thread", "/travaux/feed?service=web"]),
    "move": (_move_to_existing_board, ["site", "board", "/boards/messagerie/feed"],
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


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_changed_feeds_show_the_change(client, site, fmt):
    with travel(timedelta(minutes=30)):
        _reply(site)
    thread_feed = read(client, f"/threads/{site.question}/feed", fmt)
    assert len(thread_feed.entries) == 4
    assert "Et maintenant ?" in thread_feed.entries[0].html
    make_board(slug="messagerie", name="Messagerie")
    with travel(timedelta(minutes=40)):
        _move_to_existing_board(site)
    assert not read(client, "/boards/general/feed", fmt).has(f"thread-{site.report}")
    moved = read(client, "/boards/messagerie/feed", fmt)
    assert moved.ids == [tag(f"thread-{site.report}")]
    assert moved.entries[0].labels[0] == "Messagerie"


@pytest.mark.parametrize("fmt", FORMATS)
def test_moving_a_thread_invalidates_its_own_feed(client, site, fmt):
    path = f"/threads/{site.report}/feed"
    before = etags(client, [path], fmt)
    make_board(slug="messagerie", name="Messagerie")
    with travel(timedelta(minutes=30)):
        _move_to_existing_board(site)
    assert_changed(client, before, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_hiding_a_linked_thread_invalidates_the_incident_feeds(client, site, fmt):
    paths = ["/travaux/feed", f"/travaux/incidents/{site.incident}/feed"]
    before = etags(client, paths, fmt)
    with travel(timedelta(minutes=30)):
        forum.hide_thread(obj(Thread, site.report), make_user(role="moderator"))
    assert_changed(client, before, fmt)


# Private stays private ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_staff_board_and_its_threads_have_no_feed_even_for_staff(client, site, fmt):
    paths = [with_format("/boards/equipe/feed", fmt),
             with_format(f"/threads/{site.secret}/feed", fmt)]
    for path in paths:
        assert client.get(path).status_code == 404
        assert client.head(path).status_code == 404
    response = client.login(site.moderator_email)
    assert response.status_code == 302
    assert client.get("/boards/equipe").status_code == 200  # the page, yes; the feed, no
    for path in paths:
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_feeds_are_404(client, site, fmt):
    for path in ("/travaux/feed?service=unknown", "/travaux/feed?service=",
                 "/boards/nope/feed", "/threads/999999/feed", "/travaux/incidents/999999/feed"):
        assert client.get(with_format(path, fmt)).status_code == 404, path


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_hidden_post_leaves_the_thread_feed_at_the_next_request(client, site, fmt):
    path = f"/threads/{site.question}/feed"
    etag = client.get(with_format(path, fmt)).headers["ETag"]
    with travel(timedelta(minutes=30)):
        forum.hide_post(obj(Post, site.answer), make_user(role="moderator"))
    response = client.get(with_format(path, fmt), headers={"If-None-Match": etag})
    assert response.status_code == 200
    feed = parse(response.data, fmt)
    assert feed.ids == [tag(f"post-{i}") for i in (site.thanks, site.first_post)]
    assert b"vider" not in response.data
    # The next post's permalink did not move: it is still on page 1.
    assert feed.entries[0].link.endswith(f"{site.question_slug}#post-{site.thanks}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_hidden_thread_leaves_its_board_and_the_site_feed(client, site, fmt):
    before = etags(client, ["/feed", "/boards/general/feed"], fmt)
    with travel(timedelta(minutes=30)):
        forum.hide_thread(obj(Thread, site.question), make_user(role="moderator"))
    assert_changed(client, before, fmt)
    for path in ("/feed", "/boards/general/feed"):
        feed = read(client, path, fmt)
        assert not feed.has(f"thread-{site.question}")
        assert b"Mon site affiche une erreur" not in feed.raw
    assert client.get(with_format(f"/threads/{site.question}/feed", fmt)).status_code == 404


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

def add_threads(board_id: int, authors: list, count: int):
    """`count` threads with their first posts, a second apart, counters kept."""
    start = now()
    first = db.session.scalar(select(func.count(Thread.id)).where(Thread.board_id == board_id))
    rows = [{"board_id": board_id, "author_id": authors[i % len(authors)].id,
             "title": f"Sujet {first + i}", "slug": f"sujet-{first + i}",
             "created_at": start + timedelta(seconds=first + i),
             "last_activity_at": start + timedelta(seconds=first + i), "post_count": 1,
             "pinned": False, "changed_at": start} for i in range(count)]
    db.session.execute(insert(Thread), rows)
    threads = db.session.execute(select(Thread.id, Thread.author_id, Thread.created_at)
                                 .where(Thread.board_id == board_id,
                                        Thread.title.in_([r["title"] for r in rows]))).all()
    db.session.execute(insert(Post), [
        {"thread_id": t.id, "author_id": t.author_id, "body_source": f"Texte {t.id}",
         "body_html": f"<p>Texte {t.id}</p>", "created_at": t.created_at, "official": False}
        for t in threads])
    forum.recount_all()


def add_updates(incident_id: int, authors: list, count: int):
    """`count` more updates on an incident, a second apart."""
    start = now()
    db.session.execute(insert(IncidentUpdate), [
        {"incident_id": incident_id, "status": "identified", "body_source": f"Point {i}",
         "body_html": f"<p>Point {i}</p>", "author_id": authors[i % len(authors)].id,
         "created_at": start + timedelta(seconds=i + 1)} for i in range(count)])
    last_id = db.session.scalar(select(func.max(IncidentUpdate.id))
                                .where(IncidentUpdate.incident_id == incident_id))
    db.session.execute(update(Incident).where(Incident.id == incident_id).values(
        last_update_id=last_id, updated_at=start + timedelta(seconds=count),
        status="identified"))
    db.session.commit()


def add_incidents(service_id: int, authors: list, count: int):
    """`count` incidents on a service, each with an update, by different authors."""
    start = now()
    first = db.session.scalar(select(func.count(Incident.id)))
    titles = [f"Incident {first + i}" for i in range(count)]
    db.session.execute(insert(Incident), [
        {"kind": "incident", "title": titles[i], "impact": "minor", "status": "investigating",
         "status_manual": False, "created_at": start + timedelta(seconds=first + i),
         "updated_at": start + timedelta(seconds=first + i),
         "author_id": authors[i % len(authors)].id} for i in range(count)])
    incidents = db.session.execute(select(Incident.id, Incident.created_at, Incident.author_id)
                                   .where(Incident.title.in_(titles))).all()
    db.session.execute(insert(incident_services),
                       [{"incident_id": i.id, "service_id": service_id} for i in incidents])
    db.session.execute(insert(IncidentUpdate), [
        {"incident_id": i.id, "status": "investigating", "body_source": "Vu.",
         "body_html": "<p>Vu.</p>", "author_id": i.author_id, "created_at": i.created_at}
        for i in incidents])
    last = (select(func.max(IncidentUpdate.id))
            .where(IncidentUpdate.incident_id == Incident.id).scalar_subquery())
    db.session.execute(update(Incident).where(Incident.title.in_(titles))
                       .values(last_update_id=last))
    db.session.commit()


def cost(client, url: str) -> tuple[int, int]:
    """Statements of a full answer, and of a conditional one that ends in 304."""
    client.get(url)  # warm what is cached per process, outside the count
    db.session.commit()
    with count_queries() as full:
        response = client.get(url)
    assert response.status_code == 200
    etag = response.headers["ETag"]
    db.session.commit()
    with count_queries() as conditional:
        response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    return len(full), len(conditional)


def make_users(count: int, role: str = "member") -> list[User]:
    """`count` users in one statement (they share the first one's password hash)."""
    first = make_user(role=role)
    tag = f"{first.id}-{role}"
    db.session.execute(insert(User), [
        {"email": f"auteur{n}-{tag}@example.org", "name": f"Auteur {n} {tag}",
         "password_hash": first.password_hash, "role": role, "created_at": now(),
         "confirmed_at": now()} for n in range(count - 1)])
    db.session.commit()
    return [first, *db.session.scalars(select(User).where(User.email.like(f"auteur%-{tag}@%"))
                                       .order_by(User.id))]


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


# Old addresses, the list of feeds, OPML -----------------------------------------------------

@pytest.mark.parametrize("query, target", [
    ("feed_type=rss2&project=0", "/travaux/feed.rss"),
    ("feed_type=rss2&project=7", "/travaux/feed.rss?service=mail"),
    ("feed_type=rss2&project=12", "/travaux/feed.rss?service=web"),
    ("project=7", "/travaux/feed.rss?service=mail"),
    ("feed_type=rss2&project=999", "/travaux/feed.rss"),
    ("feed_type=rss1&project=0", "/travaux/feed.rss"),
    ("feed_type=rss1&project=12", "/travaux/feed.rss?service=web"),
    ("feed_type=atom&project=0", "/travaux/feed.atom"),
    ("feed_type=atom&project=7", "/travaux/feed.atom?service=mail"),
    ("feed_type=atom&project=999", "/travaux/feed.atom"),
    ("", "/travaux/feed.rss"),
    ("feed_type=rss2&project=abc", "/travaux/feed.rss"),
    ("feed_type=rss2&project=-7", "/travaux/feed.rss"),
    ("feed_type=rss2&project=%C2%B2", "/travaux/feed.rss"),  # "²" is a digit to str.isdigit
    ("feed_type=rss2&project=99999999999999999999", "/travaux/feed.rss"),
])
def test_old_feed_addresses_redirect_for_good(client, app, query, target):
    for slug, name, legacy_id in (("web", "Hébergement web", 12), ("mail", "Messagerie", 7)):
        make_service(slug, name).legacy_id = legacy_id
    db.session.commit()
    response = client.get(f"/feed.php?{query}" if query else "/feed.php")
    assert response.status_code == 301
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "board.test", "localhost")
    assert location.path + (f"?{location.query}" if location.query else "") == target
    followed = client.get(target)
    assert followed.status_code == 200
    assert followed.headers["Content-Type"] == TYPES[target.split(".")[1].split("?")[0]]


def test_feeds_page_lists_every_public_feed(client, site):
    response = client.get("/feeds")
    assert response.status_code == 200
    page = response.data.decode()
    for path in ("/feed", "/boards/general/feed", "/boards/travaux/feed", "/travaux/feed",
                 "/travaux/feed?service=web", "/travaux/feed?service=mail"):
        for fmt in FORMATS:
            assert f'href="{with_format(path, fmt)}"' in page, path
    assert "Hébergement web" in page and "Messagerie" in page
    assert "equipe" not in page


def test_opml_lists_every_public_board_and_service_with_absolute_urls(client, site):
    response = client.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/x-opml")
    root = ET.fromstring(response.data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    feeds = root.findall(".//outline[@xmlUrl]")
    urls = [o.get("xmlUrl") for o in feeds]
    assert sorted(urls) == sorted(BASE + with_format(p, "rss") for p in (
        "/feed", "/boards/general/feed", "/boards/travaux/feed", "/travaux/feed",
        "/travaux/feed?service=web", "/travaux/feed?service=mail"))
    assert len(set(urls)) == len(urls)
    for outline in feeds:
        assert outline.get("type") == "rss"
        assert outline.get("text") and outline.get("htmlUrl").startswith(BASE + "/")
    texts = [o.get("text") for o in feeds]
    assert any("Questions & réponses" in t for t in texts)  # escaped, and read back whole
    assert any("Messagerie" in t for t in texts) and any("Hébergement web" in t for t in texts)
    # Every address answers, as a feed.
    for url in urls:
        parts = urlsplit(url)
        read(client, parts.path.removesuffix(".rss") + (f"?{parts.query}" if parts.query
                                                        else ""), "rss")

