"""The one place where untrusted text becomes HTML.

Markdown (CommonMark, tables, strikethrough, autolinks) is rendered by markdown-it-py with raw
HTML off, then the result is sanitized by bleach against an explicit allowlist. The first wall
means no author HTML ever reaches the page; bleach is the second wall, kept here alone so it
can be replaced in one place.
"""

import html
import re
import threading
from collections.abc import Callable
from functools import cache

from flask_babel import gettext

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "em", "strong", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {
    "a": lambda tag, name, value: (name in ("href", "title", "rel")
                                   or (name == "class" and value == MENTION_CLASS)),
    "img": ["src", "alt", "title", "loading"],
    "ol": ["start"],
    "th": lambda tag, name, value: name == "class" and value in ALIGN_CLASSES,
    "td": lambda tag, name, value: name == "class" and value in ALIGN_CLASSES,
    "code": lambda tag, name, value: name == "class" and value.startswith("language-"),
}
ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener noreferrer"
MENTION_CLASS = "mention"
# What follows an "@" that may be a display name (names are 40 characters at most).
_MENTION_SPAN = 40
# Headings in a post sit below the page's own h1 and h2.
HEADING_SHIFT = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}


# The schemes linkify-it accepts (http, https, ftp, mailto) and the character before one fit in
# this many characters; a longer run of scheme characters is never a scheme it accepts.
_SCHEME_TAIL = 16
_SCHEME_RE = re.compile(r"(?:^|[^a-z0-9.+-])([a-z][a-z0-9.+-]*)$", re.IGNORECASE)


def _linkify(state, silent):
    """markdown-it-py's inline linkify rule, looking for the scheme in the tail of the pending
    text only, with the same result. Upstream searches all of it at each "://", a quadratic
    cost: one 50 KB line of "://" took 17 s."""
    pos = state.pos
    if not state.md.options.linkify or state.linkLevel > 0 or pos + 3 > state.posMax:
        return False
    if not state.src.startswith("://", pos):
        return False
    if not (match := _SCHEME_RE.search(state.pending[-_SCHEME_TAIL:])):
        return False
    proto = match.group(1)
    if not (link := state.md.linkify.match_at_start(state.src[pos - len(proto):])):
        return False
    url = link.url.rstrip("*")  # a '*' at the end is emphasis, as upstream
    full_url = state.md.normalizeLink(url)
    if not state.md.validateLink(full_url):
        return False
    if not silent:
        state.pending = state.pending[: -len(proto)]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": full_url}
        token.markup, token.info = "linkify", "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos += len(url) - len(proto)
    return True



# A mention: "@" then a name the caller knows, the longest that fits ("@Jean Dupont merci"
# names Jean Dupont when he exists, else Jean). The caller's `find(text)` gets what follows the
# "@" (to the end of the line, _MENTION_SPAN characters at most) and answers with the length
# of the name it found there and the address of its owner's profile, or None.
MentionFinder = Callable[[str], tuple[int, str] | None]


def _mention(state, silent):
    find = state.env.get("mention")
    pos = state.pos
    if find is None or state.src[pos] != "@" or state.linkLevel > 0:
        return False
    if pos > 0 and (state.src[pos - 1].isalnum() or state.src[pos - 1] in "_@."):
        return False  # an address (jean@example.org) or a word, not a mention
    found = find(state.src[pos + 1: pos + 1 + _MENTION_SPAN].split("\n", 1)[0])
    if not found:
        return False
    length, href = found
    if not silent:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": href, "class": MENTION_CLASS}
        token.meta = {"mention": href}
        token = state.push("text", "", 0)
        token.content = state.src[pos: pos + 1 + length]
        state.push("link_close", "a", -1)
    state.pos += 1 + length
    return True


# GFM pads short table rows with empty cells. Upstream caps that at 65,536 cells per table, but a
# 50 KB post holds thirty such tables: 20 MB of HTML, minutes of CPU and gigabytes of memory. So
# a whole post gets at most this many cells; the rows past it stay text.
_TABLE_CELLS = 10_000


def _table(state, start_line, end_line, silent):
    """markdown-it's GFM table rule, its rows cut to keep the post within _TABLE_CELLS cells."""
    from markdown_it.rules_block.table import table as _gfm_table

    if silent:
        return _gfm_table(state, start_line, end_line, True)
    if not _gfm_table(state, start_line, end_line, True):  # not a table: the common, cheap case
        return False
    used = state.env.get("table_cells", 0)
    line = start_line + 1
    delimiter = state.src[state.bMarks[line] + state.tShift[line]: state.eMarks[line]]
    columns = max(1, sum(1 for cell in delimiter.split("|") if cell.strip()))
    if used + columns > _TABLE_CELLS:
        return False
    first = len(state.tokens)
    rows = (_TABLE_CELLS - used) // columns  # the header row included
    # A table gets one row more than the token budget has room for (a row is 3 tokens a cell
    # and 2): parsed whole, one that long would cost the time the budget saves.
    rows = min(rows, (_TOKENS - len(state.tokens)) // (3 * columns + 2) + 1)
    if not _gfm_table(state, start_line, min(end_line, start_line + 1 + rows), silent):
        return False
    if len(state.tokens) > _TOKENS:
        raise _TooComplex
    cells = sum(token.type in ("th_open", "td_open") for token in state.tokens[first:])
    state.env["table_cells"] = used + cells
    return True




# Beyond the table budget, a post's whole render is budgeted. Parsing, rendering and above all
# sanitizing cost 20 to 60 µs per token on this kind of machine, so 50 KB of one-line list items
# (75,000 tokens) took 1.5 s of CPU. Past a budget the post is shown as escaped plain text; the
# budgets keep the worst 50 KB post under about 150 ms, and leave room for a long post (15 KB
# of formatted prose, a 100-row table).
_TOKENS = 2_000  # every element: paragraphs, list items, cells, emphasis, links, text runs
_INLINE_MARKS = 3_000  # characters that may open inline markup, in text outside code blocks
# Lines, counted before parsing: a paragraph or a quote of 13,000 short lines costs 130 ms of
# block parsing before any token budget is reached.
_LINES = 3_000
# markdown-it's inline terminators, where its inline rules are tried (the text between them is
# skipped in one step).
_MARKS = re.compile(r"[\n!#$%&*+\-:<=>@\[\\\]^_`{}~]")


class _TooComplex(Exception):
    """The source needs more elements than the render budget allows."""


def _block_budget(state, start_line, end_line, silent):
    """First block rule: stop the parse once the budget is spent (it never matches)."""
    if len(state.tokens) > _TOKENS:
        raise _TooComplex
    return False


def _inline_budget(state):
    """Before inline parsing: refuse text holding more possible markup than the budget."""
    marks = 0
    for token in state.tokens:
        if token.type == "inline":
            marks += len(_MARKS.findall(token.content))
            if marks > _INLINE_MARKS:
                raise _TooComplex


def _token_budget(state):
    """After inline parsing: refuse more tokens in all than the budget."""
    if sum(1 + len(token.children or ()) for token in state.tokens) > _TOKENS:
        raise _TooComplex


# markdown-it-py and bleach (with html5lib) are loaded by the first render: pages show the
# stored HTML, so a web worker that serves only reads never needs their 4 MB.
@cache
def _markdown():
    """The Markdown parser, with the rules and budgets above."""
    from markdown_it import MarkdownIt

    markdown = (
        MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
        .enable(["table", "strikethrough", "linkify"])
    )
    markdown.options["maxNesting"] = 20
    markdown.inline.ruler.at("linkify", _linkify)
    markdown.inline.ruler.before("link", "mention", _mention)
    markdown.block.ruler.at("table", _table, {"alt": ["paragraph", "reference"]})
    markdown.block.ruler.before("table", "budget", _block_budget)
    markdown.core.ruler.before("inline", "inline_budget", _inline_budget)
    markdown.core.ruler.after("inline", "token_budget", _token_budget)
    return markdown


@cache
def _tree_walker():
    from bleach import html5lib_shim

    class TreeWalker(html5lib_shim.getTreeWalker("etree")):
        """html5lib's etree walker, finding a parent's place among its siblings in a table
        built once per parent instead of with list.count() and list.index() at each climb
        back up, a quadratic cost: 50 KB of one-line quotes took 7 s to sanitize, 25,000
        table rows 40 s."""

        def __init__(self, tree):
            super().__init__(tree)
            self._places = {}

        def getParentNode(self, node):
            if not isinstance(node, tuple) or node[3] == "text" or len(node[2]) < 2:
                return super().getParentNode(node)
            parents = node[2]
            parent = parents.pop()
            siblings = parents[-1]
            places = self._places.get(id(siblings))
            if places is None:
                places = self._places[id(siblings)] = {
                    id(e): i for i, e in enumerate(siblings)}
            return parent, places[id(parent)], parents, None

    return TreeWalker


_local = threading.local()


def _cleaner():
    """This thread's cleaner: a bleach Cleaner holds parser state and is not thread-safe."""
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        import bleach

        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
        )
        cleaner.walker = _tree_walker()
    return cleaner


def _render_markdown(source: str, env: dict) -> str:
    if source.count("\n") > _LINES:
        raise _TooComplex
    markdown = _markdown()
    tokens = markdown.parse(source, env)
    quotes = 0
    for token in _walk(tokens):
        if token.type in ("blockquote_open", "blockquote_close"):
            quotes += token.nesting
        elif token.meta and "mention" in token.meta and not quotes:
            # Quoted words are someone else's: only the author's own mentions count.
            env.setdefault("mentioned", []).append(token.meta["mention"])
        if token.type in ("heading_open", "heading_close"):
            token.tag = HEADING_SHIFT[token.tag]
        elif token.type == "link_open":
            token.attrSet("rel", LINK_REL)
        elif token.type in ("th_open", "td_open") and token.attrGet("style"):
            # Alignment becomes a class: the Content-Security-Policy forbids inline styles.
            align = str(token.attrGet("style")).removeprefix("text-align:").strip(" ;")
            token.attrs.pop("style")
            token.attrSet("class", f"align-{align}")
        elif token.type == "image":
            token.attrSet("loading", "lazy")
        elif token.type == "fence":
            # Only a plain language word may become a class name.
            words = token.info.split()
            token.info = words[0] if words and words[0].isalnum() else ""
    return markdown.renderer.render(tokens, markdown.options, {})


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def render(source: str) -> str:
    """Markdown source from a user to sanitized HTML, ready to store and to show; beyond the
    render budget, the source as escaped plain text under a note that says so."""
    return render_mentions(source, None)[0]


def render_mentions(source: str, find: MentionFinder | None) -> tuple[str, list[str]]:
    """`render`, with "@Name" made a link where `find` knows the name; returns the HTML and
    the addresses mentioned outside quotes, in order (repeats included)."""
    source = source.replace("\x00", "\ufffd")
    env: dict = {"mention": find} if find else {}
    try:
        return _cleaner().clean(_render_markdown(source, env)), env.get("mentioned", [])
    except _TooComplex:
        return _plain(source), []


def _plain(source: str) -> str:
    """The source as escaped text, one paragraph per blank-line-separated block, and a note
    after it (after, so that the stored excerpt is the text)."""
    note = gettext("This message has too much formatting to be shown as Markdown: here is "
                   "its plain text.")
    blocks = (block.strip("\n") for block in re.split(r"\n[ \t]*\n", source))
    paragraphs = "".join(f"<p>{html.escape(b).replace(chr(10), '<br>' + chr(10))}</p>\n"
                         for b in blocks if b.strip())
    return f"{paragraphs}<p><em>{html.escape(note)}</em></p>\n"


# A tag of our own sanitized HTML: quoted attribute values may hold a ">", never a quote.
_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
EXCERPT_LENGTH = 240  # the longest preview shown (digest mails); pages cut it shorter


def excerpt(body_html: str, length: int = EXCERPT_LENGTH) -> str:
    """Plain text of the first `length` characters of HTML made by `render`: computed once
    when a post or an update is written, stored, and shown wherever a preview is."""
    text = " ".join(html.unescape(_TAG.sub("", body_html)).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def escape_md(text: str) -> str:
    """`text` with Markdown's special characters escaped, to quote a title in a post."""
    return "".join("\\" + c if c in "\\`*_[]()<>#!|~" else c for c in text)
