"""The one place where untrusted text becomes HTML.

Markdown (CommonMark, tables, strikethrough, autolinks) is rendered by markdown-it-py with raw
HTML off, then the result is sanitized by bleach against an explicit allowlist. The first wall
means no author HTML ever reaches the page; bleach is the second wall, kept here alone so it
can be replaced in one place.
"""

import html

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "em", "strong", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
    "img": ["src", "alt", "title", "loading"],
    "ol": ["start"],
    "th": lambda tag, name, value: name == "class" and value in ALIGN_CLASSES,
    "td": lambda tag, name, value: name == "class" and value in ALIGN_CLASSES,
    "code": lambda tag, name, value: name == "class" and value.startswith("language-"),
}
ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener noreferrer"
# Headings in a post sit below the page's own h1 and h2.
HEADING_SHIFT = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}

_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
    .enable(["table", "strikethrough", "linkify"])
)
_markdown.options["maxNesting"] = 20


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
)


def _render_markdown(source: str) -> str:
    tokens = _markdown.parse(source)
    for token in _walk(tokens):
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
        elif token.type == "fence" and token.info:
            # Only a plain language word may become a class name.
            word = token.info.split()[0]
            token.info = word if word.isalnum() else ""
    return _markdown.renderer.render(tokens, _markdown.options, {})


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def render(source: str) -> str:
    """Markdown source from a user to sanitized HTML, ready to store and to show."""
    source = source.replace("\x00", "\ufffd")
    return _cleaner.clean(_render_markdown(source))


def excerpt(source: str, length: int = 200) -> str:
    """Plain text of the first `length` characters of a Markdown source (for previews)."""
    text = html.unescape(bleach.clean(_render_markdown(source), tags=set(), strip=True))
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
