"""RSS 2.0 and Atom 1.0 feeds, built by feedgen, served with conditional GET.

Shared by every feed: a feed is a stamp (what changed last, from one small query) and a list
of items (from a bounded number of queries), both built as a guest sees the site (the views
query through `board.visibility` with its GUEST: readers carry no session). This module
imports no domain: the views hand it `Stamp` and `Item` values.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from feedgen.feed import FeedGenerator
from flask import abort, current_app, request

MAX_ITEMS = 50
TYPES = {"rss": "application/rss+xml; charset=utf-8",
         "atom": "application/atom+xml; charset=utf-8",
         "ics": "text/calendar; charset=utf-8"}  # calendars share the validators
_RELATIVE = re.compile(r'(\s(?:href|src))="(/[^/"][^"]*|/)"')
_URL_ATTR = re.compile(r'(\s(?:href|src))="([^"]*)"')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Characters XML 1.0 forbids (lxml refuses them: the whole feed would be a 500), those it
# discourages (DEL, C1 controls) and U+FFFD, which feed validators take for broken encoding.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd-\uffff]")


@dataclass
class Stamp:
    """What a feed's freshness hangs on: its newest change and how many items it holds."""

    changed_at: datetime | None
    count: int = 0

    def etag(self, fmt: str) -> str:
        moment = self.changed_at.isoformat() if self.changed_at else "-"
        raw = f"{request.path}|{request.query_string.decode()}|{fmt}|{moment}|{self.count}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass
class Item:
    key: str                     # stable part of the id, e.g. "post-42"
    title: str
    link: str                    # absolute permalink
    published: datetime
    updated: datetime
    html: str                    # sanitized HTML, absolute URLs
    author: str
    categories: list[tuple[str, str]] = field(default_factory=list)  # (term, label)


def language() -> str:
    """Feeds speak the site's default language: one URL, one document, cacheable."""
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def stamp_or_404(row) -> Stamp:
    """The stamp of a feed's one-query row; abort(404) when the feed's subject is not there."""
    if row is None:
        abort(404)
    return Stamp(*row)


def tag_uri(key: str) -> str:
    """A `tag:` URI (RFC 4151) that never changes for an item, whatever happens to it."""
    authority = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"tag:{authority},{current_app.config['FEED_TAG_DATE']}:{key}"


def absolute_html(html: str) -> str:
    """Make the site-relative links and images of stored HTML absolute, for feed readers."""
    base = current_app.config["BASE_URL"]
    return _RELATIVE.sub(lambda m: f'{m.group(1)}="{base}{m.group(2)}"', html)


def resolve_urls(html: str, page: str) -> str:
    """Every relative href/src of `html` made absolute against the page it is shown on."""
    return _URL_ATTR.sub(lambda m: m.group(0) if _SCHEME.match(m.group(2))
                         else f'{m.group(1)}="{urljoin(page, m.group(2))}"', html)


def xml_text(text: str) -> str:
    """`text` without the characters a feed must not carry."""
    return _NOT_XML.sub("", text)


def self_url() -> str:
    """The exact URL being served, query string included."""
    return current_app.config["BASE_URL"] + request.full_path.rstrip("?")


def not_modified(stamp: Stamp, fmt: str):
    """A 304 response when the client already holds this version of the feed, else None."""
    etag = stamp.etag(fmt)
    if request.if_none_match.contains_weak(etag):  # If-None-Match compares weakly
        return _headers(current_app.response_class(status=304), stamp, fmt)
    since = request.if_modified_since
    if (since and stamp.changed_at and not request.if_none_match
            and stamp.changed_at.replace(microsecond=0) <= since):
        return _headers(current_app.response_class(status=304), stamp, fmt)
    return None


def _headers(response, stamp: Stamp, fmt: str):
    response.set_etag(stamp.etag(fmt))
    if stamp.changed_at:
        response.last_modified = stamp.changed_at.replace(microsecond=0)
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Content-Type"] = TYPES[fmt]
    return response


def answer(body: bytes, stamp: Stamp, fmt: str):
    """Answer a document built elsewhere (a calendar) with the feeds' validators."""
    return _headers(current_app.response_class(body), stamp, fmt)


def respond(fmt: str, stamp: Stamp, *, title: str, subtitle: str, page_url: str,
            language: str, items: list[Item]):
    """Build the feed in `fmt` ("rss" or "atom") and answer it with its validators."""
    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    feed.id(self_url())
    title, subtitle = xml_text(title), xml_text(subtitle)
    feed.title(title)
    feed.subtitle(subtitle)
    feed.description(subtitle)
    # feedgen's RSS <link> is the last link given: the page, after the self link.
    feed.link(href=self_url(), rel="self")
    feed.link(href=page_url, rel="alternate")
    feed.language(language)
    feed.author({"name": current_app.config["FEED_AUTHOR"]})
    feed.generator("Communauté")
    newest = max((i.updated for i in items), default=stamp.changed_at or _epoch())
    feed.updated(newest)
    feed.lastBuildDate(newest)
    feed.ttl(1)
    # feedgen prepends entries: add the oldest first so the newest leads the document.
    for item in reversed(items[:MAX_ITEMS]):
        _add_entry(feed, item, fmt)
    if fmt == "rss":
        # RSS Best Practices Profile: "&", "<", ">" as hexadecimal character references
        # (the same XML, read the same by every parser; feedgen emits no CDATA here).
        body = (feed.rss_str(pretty=True).replace(b"&amp;", b"&#x26;")
                .replace(b"&lt;", b"&#x3C;").replace(b"&gt;", b"&#x3E;"))
    else:
        body = feed.atom_str(pretty=True)
    response = current_app.response_class(body)
    return _headers(response, stamp, fmt)


def _add_entry(feed: FeedGenerator, item: Item, fmt: str) -> None:
    entry = feed.add_entry()
    entry.id(tag_uri(item.key))
    entry.guid(tag_uri(item.key), permalink=False)
    entry.title(xml_text(item.title))
    # One link per entry: feedgen 1.0 drops the rel of entry links, so a second one would
    # read as a second "alternate". Linked pages are linked from the content instead.
    entry.link(href=item.link, rel="alternate")
    entry.published(item.published)
    entry.updated(item.updated)
    for term, label in item.categories:
        entry.category(term=xml_text(term), label=xml_text(label))
    html, author = xml_text(resolve_urls(item.html, item.link)), xml_text(item.author)
    if fmt == "rss":
        entry.description(html)
        entry.dc.dc_creator(author)
    else:
        entry.content(html, type="html")
        entry.author({"name": author})


def _epoch() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)
