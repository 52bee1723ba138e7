"""Reading RSS and Atom feeds as feed readers, shared caches and crawlers do, for the feed
tests of every domain.

Every feed is read twice over: by feedparser (what a reader makes of it) and as raw XML (what
the document says exactly); `read` checks it is well formed and returns both.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import feedparser
from flask import current_app

from board import pagecache
from board.extensions import db
from tests.conftest import count_queries

BASE = "http://board.test"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"atom": ATOM, "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FORMATS = ("rss", "atom")
TYPES = {"rss": "application/rss+xml; charset=utf-8",
         "atom": "application/atom+xml; charset=utf-8"}
MAX_ITEMS = 50

TAG_URI = re.compile(r"^tag:board\.test,\d{4}(?:-\d\d){0,2}:(?:thread|post|incident|update)-\d+$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$")
RFC822 = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug"
                    r"|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d (?:[+-]\d{4}|GMT|UT)$")
# An address: something@ a dotted domain (tag: URIs and "@" alone do not match).
EMAIL = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
SITE_RELATIVE = re.compile(r'(?:href|src)="/(?!/)')


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


# Validators: ETags before and after a change, and what a feed costs ------------------------

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


def cost(client, url: str) -> tuple[int, int]:
    """Statements of a full answer, and of a conditional one that ends in 304."""
    client.get(url)  # warm what is cached per process, outside the count
    db.session.commit()
    pagecache.store().clear()  # the cost of rendering it; the 304 below is then a cache hit
    with count_queries() as full:
        response = client.get(url)
    assert response.status_code == 200
    etag = response.headers["ETag"]
    db.session.commit()
    with count_queries() as conditional:
        response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    return len(full), len(conditional)
