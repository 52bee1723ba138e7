"""board.markup against hostile input: no executable content ever comes out, legitimate
Markdown still renders, and pathological input renders in bounded time.

The corpus is tests/data/hostile_markdown.txt: entries separated by a line holding exactly
``%%%%``; '#' lines before the first separator are its header and are skipped; ``⟦hex⟧`` stands
for a character a text file cannot hold safely (⟦00⟧ is NUL). See load_corpus().

Sources the corpus draws on (payloads rewritten by hand, often several spellings of each):
- OWASP XSS Filter Evasion Cheat Sheet (cheatsheetseries.owasp.org): script/img/body/meta/
  base/link/style/table/div vectors, entity-encoded and tab/newline-split javascript: URLs,
  expression(), -moz-binding, UTF-7, SSI and XML data island tricks.
- PortSwigger Web Security Academy XSS cheat sheet: event handlers (onfocus+autofocus,
  ontoggle, onbegin, onloadstart...), svg/animate/set/use, formaction, srcdoc.
- html5sec.org (HTML5 Security Cheatsheet): svg/math namespace tricks, CDATA in svg, xmp,
  listing, noembed, isindex, xlink:href.
- DOMPurify test suite and published bypasses: <svg></p><style> (2.0.0), math/mtext/table/
  mglyph/style (2.0.17), form/math/mglyph namespace confusion (2.2.x), noscript and
  template mutation XSS.
- bleach test suite and advisories: CVE-2018-7753 (entities inside URL schemes),
  CVE-2020-6802 (noscript mXSS), CVE-2020-6816 and CVE-2021-23980 (math/svg + style + comments).
- markdown-it security notes (docs/security.md, validateLink's javascript/vbscript/file/data
  block) and markdown-it-py's advisories; cujanovic's "Markdown-XSS-Payloads" list and the
  Telescope write-up (CVE-2014-5144) for Markdown link/image/reference-definition payloads.
- The 0xsobky "ultimate XSS polyglot" and the Ashar Javed polyglot; cmark's
  test/pathological_tests.py for the shapes of the bounded-time inputs.
"""

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from board import markup

CORPUS = Path(__file__).parent / "data" / "hostile_markdown.txt"
SEPARATOR = "%%%%"
_ESCAPE = re.compile(r"⟦([0-9A-Fa-f]{2,6})⟧")

FORBIDDEN_TAGS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "svg", "math", "object", "embed",
    "applet", "form", "input", "button", "textarea", "select", "base", "meta", "link",
    "noscript", "template", "xmp", "noembed", "plaintext", "title", "video", "audio",
})
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# What a browser ignores in a URL, and more: every control, space, and invisible character.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f\s\u00ad\u200b-\u200f\u2028-\u202e\u2060\ufeff]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# Pathological input must render in linear time: the time per character may not grow more than
# this from an input to one 4 times as long (linear is about 1; quadratic, 4). Renders faster
# than NEGLIGIBLE seconds pass whatever their growth (noise dominates them), and none may take
# longer than TIME_LIMIT, a bound for the slowest machine under coverage.
GROWTH_LIMIT = 2.5
NEGLIGIBLE = 0.05
TIME_LIMIT = 20.0


def load_corpus(path: Path = CORPUS) -> list[str]:
    """The entries of the corpus file, header skipped and ⟦hex⟧ escapes decoded."""
    entries: list[str] = []
    current: list[str] | None = None  # None while still in the header
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line, it adds none
    for number, line in enumerate(lines, 1):
        if line == SEPARATOR:
            if current is not None:
                entries.append("\n".join(current))
            current = []
        elif current is None:
            assert line.startswith("#") or not line.strip(), f"line {number}: not a comment"
        else:
            current.append(line)
    if current is not None:
        entries.append("\n".join(current))
    return [_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), entry) for entry in entries]


def _entry_id(index: int, entry: str) -> str:
    """Its number and its start on one line (pytest escapes what is not printable ASCII)."""
    return f"{index:03d}:{' '.join(entry.split())[:48]}"


HOSTILE = load_corpus()


class _TagCollector(HTMLParser):
    """Every tag, attribute, comment and declaration in an HTML fragment. Attribute values come
    out entity-decoded, as a browser sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.start_tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.end_tags: list[str] = []
        self.oddities: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.start_tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.start_tags.append((tag, attrs))

    def handle_endtag(self, tag):
        self.end_tags.append(tag)

    def handle_comment(self, data):
        self.oddities.append(f"comment <!--{data}-->")

    def handle_decl(self, decl):
        self.oddities.append(f"declaration <!{decl}>")

    def handle_pi(self, data):
        self.oddities.append(f"processing instruction <?{data}>")

    def unknown_decl(self, data):
        self.oddities.append(f"marked section <![{data}]>")


def url_scheme(value: str) -> str | None:
    """The scheme a browser would use for an href/src value (already entity-decoded), after
    dropping whitespace, controls and invisible characters anywhere and lowercasing; None
    for a relative URL or an anchor."""
    match = _SCHEME.match(_IGNORED_IN_URL.sub("", value).lower())
    return match.group(1) if match else None


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    rule = markup.ALLOWED_ATTRIBUTES.get(tag, ())
    return bool(rule(tag, name, value)) if callable(rule) else name in rule


def unsafe_parts(fragment: str) -> list[str]:
    """What in an HTML fragment could run script, load active content or escape the allowlist."""
    parser = _TagCollector()
    parser.feed(fragment)
    parser.close()
    problems = list(parser.oddities)
    for tag in parser.end_tags:
        if tag not in markup.ALLOWED_TAGS or tag in FORBIDDEN_TAGS:
            problems.append(f"end tag </{tag}>")
    for tag, attrs in parser.start_tags:
        if tag not in markup.ALLOWED_TAGS or tag in FORBIDDEN_TAGS:
            problems.append(f"tag <{tag}>")
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            problems.append(f"<{tag}> repeats an attribute: {names}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                problems.append(f"<{tag}> event handler {name}={value!r}")
            if name == "style":
                problems.append(f"<{tag}> style={value!r}")
            if not _attribute_allowed(tag, name, value):
                problems.append(f"<{tag}> attribute not allowlisted: {name}={value!r}")
            if name in URL_ATTRIBUTES:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in SAFE_SCHEMES:
                    problems.append(f"<{tag}> {name} with scheme {scheme!r}: {value!r}")
            if name == "rel" and value != markup.LINK_REL:
                problems.append(f"<{tag}> rel={value!r}")
        if tag == "a" and "href" in names and "rel" not in names:
            problems.append(f"<a> without rel: {attrs}")
    return problems


def assert_safe(source: str, output: str) -> None:
    problems = unsafe_parts(output)
    assert not problems, f"\nsource: {source!r}\noutput: {output!r}\nproblems: {problems}"


# The checker itself must catch what it is meant to catch, or every test below proves nothing.
@pytest.mark.parametrize("fragment", [
    "<script>alert(1)</script>",
    "<p><img src=x onerror=alert(1)></p>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;ava&#x09;script:alert(1)" rel="nofollow ugc noopener noreferrer">x</a>',
    '<a href=" \x01JaVaScRiPt:alert(1)" rel="nofollow ugc noopener noreferrer">x</a>',
    '<img src="vbscript:msgbox(1)">',
    '<img src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;">',
    '<p style="background:url(x)">x</p>',
    "<svg><circle/></svg>",
    "<math></math>",
    "<!-- x -->",
    '<a href="https://example.com">no rel</a>',
    '<a href="https://example.com" rel="opener">bad rel</a>',
    '<td class="evil">x</td>',
    '<code class="hljs">x</code>',
    '<p id="x">clobbering</p>',
    "<div>x</div>",
], ids=lambda fragment: fragment[:40])
def test_checker_rejects_unsafe_html(fragment):
    assert unsafe_parts(fragment)


@pytest.mark.parametrize("value, scheme", [
    ("https://example.com", "https"),
    ("HTTP://example.com", "http"),
    ("mailto:x@example.com", "mailto"),
    (" \t java\nscript:alert(1)", "javascript"),
    ("\x00vbscript:x", "vbscript"),
    ("\u200bdata:text/html,x", "data"),
    ("/relative/path", None),
    ("#anchor", None),
    ("?q=javascript:alert(1)", None),
    ("%6Aavascript:alert(1)", None),  # percent-encoding cannot make a scheme
    ("//example.com/x", None),
])
def test_url_scheme(value, scheme):
    assert url_scheme(value) == scheme


def test_corpus_is_large_and_has_no_duplicates():
    assert len(HOSTILE) >= 150
    assert all(entry.strip() for entry in HOSTILE)
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize(
    "source", HOSTILE, ids=[_entry_id(i, entry) for i, entry in enumerate(HOSTILE, 1)]
)
def test_hostile_input_renders_without_executable_content(source):
    output = markup.render(source)
    assert isinstance(output, str)
    assert_safe(source, output)


@pytest.mark.parametrize(
    "source", HOSTILE, ids=[_entry_id(i, entry) for i, entry in enumerate(HOSTILE, 1)]
)
def test_hostile_input_excerpt_is_bounded_plain_text(source):
    text = markup.excerpt(markup.render(source), 80)
    assert isinstance(text, str)
    assert len(text) <= 80
    assert "\n" not in text


REL = 'rel="nofollow ugc noopener noreferrer"'


@pytest.mark.parametrize("source, expected", [
    pytest.param("**gras** et __gras__", ["<strong>gras</strong> et <strong>gras</strong>"],
                 id="bold"),
    pytest.param("*italique* et _italique_", ["<em>italique</em> et <em>italique</em>"],
                 id="italic"),
    pytest.param("~~barré~~", ["<s>barré</s>"], id="strikethrough"),
    pytest.param("- un\n- deux\n", ["<ul>\n<li>un</li>\n<li>deux</li>\n</ul>"], id="bullets"),
    pytest.param("3. trois\n4. quatre\n", ['<ol start="3">\n<li>trois</li>'], id="ordered"),
    pytest.param("- a\n  - b\n", ["<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>"], id="nested-list"),
    pytest.param("```python\nif a < b and c > d:\n    pass\n```",
                 ['<pre><code class="language-python">if a &lt; b and c &gt; d:\n    pass\n'
                  "</code></pre>"], id="fenced-code"),
    pytest.param("```c++\nint a;\n```", ["<pre><code>int a;\n</code></pre>"],
                 id="fence-language-not-a-word"),
    pytest.param("    indenté\n", ["<pre><code>indenté\n</code></pre>"], id="indented-code"),
    pytest.param("`a <b> & c`", ["<code>a &lt;b&gt; &amp; c</code>"], id="code-span"),
    pytest.param("| Gauche | Centre | Droite |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n",
                 ['<th class="align-left">Gauche</th>', '<th class="align-center">Centre</th>',
                  '<th class="align-right">Droite</th>', '<td class="align-left">1</td>',
                  '<td class="align-right">3</td>', "<thead>", "<tbody>"], id="table"),
    pytest.param("| a | b |\n|---|---|\n| 1 | 2 |\n", ["<th>a</th>", "<td>2</td>"],
                 id="table-no-alignment"),
    pytest.param("Voir https://example.com/a?b=1&c=2 !",
                 [f'<a href="https://example.com/a?b=1&amp;c=2" {REL}>'
                  "https://example.com/a?b=1&amp;c=2</a> !"], id="linkify-https"),
    pytest.param("www.example.com", [f'<a href="http://www.example.com" {REL}>'], id="linkify-www"),
    pytest.param("[la doc](https://example.com/doc \"Titre\")",
                 [f'<a href="https://example.com/doc" title="Titre" {REL}>la doc</a>'],
                 id="link"),
    pytest.param("[fil](/forum/t/1#p-2)", [f'<a href="/forum/t/1#p-2" {REL}>fil</a>'],
                 id="relative-link"),
    pytest.param("[écrire](mailto:contact@example.com)",
                 [f'<a href="mailto:contact@example.com" {REL}>écrire</a>'], id="mailto"),
    pytest.param("contact@example.com",
                 [f'<a href="mailto:contact@example.com" {REL}>contact@example.com</a>'],
                 id="linkify-email"),
    pytest.param("[réf][1]\n\n[1]: https://example.com/ref",
                 [f'<a href="https://example.com/ref" {REL}>réf</a>'], id="reference-link"),
    pytest.param("<https://example.com/auto>",
                 [f'<a href="https://example.com/auto" {REL}>https://example.com/auto</a>'],
                 id="autolink"),
    pytest.param('![logo](https://example.com/logo.png "Le logo")',
                 ['<img src="https://example.com/logo.png" alt="logo" title="Le logo" '
                  'loading="lazy">'], id="image"),
    pytest.param("# Titre\n## Sous-titre\n###### Six",
                 ["<h3>Titre</h3>", "<h4>Sous-titre</h4>", "<h6>Six</h6>"], id="headings"),
    pytest.param("Titre\n=====\n\nSous\n----", ["<h3>Titre</h3>", "<h4>Sous</h4>"],
                 id="setext-headings"),
    pytest.param("> citée\n> > deux fois", ["<blockquote>\n<p>citée</p>\n<blockquote>"],
                 id="blockquote"),
    pytest.param("ligne  \nsuivante\\\nencore", ["ligne<br>\nsuivante<br>\nencore"],
                 id="hard-breaks"),
    pytest.param("avant\n\n---\n\naprès", ["<hr>"], id="rule"),
    pytest.param("Café & « guillemets » <3", ["Café &amp; « guillemets » &lt;3"],
                 id="french-text"),
    pytest.param("&copy; &amp; &#233;", ["© &amp; é"], id="entities"),
])
def test_legitimate_markdown_renders(source, expected):
    output = markup.render(source)
    for fragment in expected:
        assert fragment in output, f"\nexpected {fragment!r}\nin {output!r}"
    assert_safe(source, output)


@pytest.mark.parametrize("source, expected", [
    ("**Bonjour** *tout* le `monde`", "Bonjour tout le monde"),
    ("# Titre\n\nPremier paragraphe.\n\n- un\n- deux", "Titre Premier paragraphe. un deux"),
    ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
    ("[lien](https://example.com) et https://example.org", "lien et https://example.org"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "a b 1 2"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # text, for an escaping template
])
def test_excerpt_is_plain_text(source, expected):
    assert markup.excerpt(markup.render(source)) == expected


def test_excerpt_truncates_with_an_ellipsis():
    assert markup.excerpt(markup.render("mot " * 200), 30) == "mot " * 7 + "m…"
    assert markup.excerpt(markup.render("mot " * 200), 8) == "mot mot…"  # no space before …
    assert markup.excerpt(markup.render("*court*"), 30) == "court"
    assert markup.excerpt(markup.render('[a](/x "1 > 0") b'), 30) == "a b"


def _indentation(depth: int) -> str:
    """Indentation for a list item `depth` levels deep: tabs, then spaces (a tab is 4 columns)."""
    return "\t" * (depth // 2) + "  " * (depth % 2)


_PADDED_TABLE = "|" + "a|" * 256 + "\n|" + "-|" * 256 + "\n" + "|\n" * 256 + "\n"

# Each builds its input at a size n; the second number is the size the test renders. "was"
# notes the render time of that input before board/markup.py was fixed.
PATHOLOGICAL = {
    "10k-blockquote-markers": (10_000, lambda n: ">" * n + " profond"),
    "10k-spaced-blockquote-markers": (10_000, lambda n: "> " * n + "profond"),
    "5k-nested-brackets": (5_000, lambda n: "[" * n + "x" + "]" * n),
    "5k-open-brackets": (5_000, lambda n: "[" * n + "x"),
    "2k-nested-images": (2_000, lambda n: "![" * n + "x" + "](/a.png)" * n),
    "5k-unclosed-link-destinations": (5_000, lambda n: "[a](<b" * n),
    "20k-stars": (20_000, lambda n: "*" * n),
    "10k-stars-around-text": (5_000, lambda n: "*" * n + "x" + "*" * n),
    "5k-alternating-emphasis-markers": (2_500, lambda n: "*_" * n),
    "emphasis-openers-without-closers": (5_000, lambda n: "*a _b " * n),
    "nested-strong-emphasis": (1_000, lambda n: "*a **a " * n + "b" + " a** a*" * n),
    "50k-char-line": (50_000, lambda n: "a" * n),
    "50k-char-url": (50_000, lambda n: "https://example.com/" + "a" * n),
    "50k-char-link-destination": (50_000, lambda n: "[x](" + "a" * n + ")"),
    "50k-nul": (50_000, lambda n: "\x00" * n),
    # 3,000 levels at 2 columns each; tabs keep the input at 2 MB instead of 9 MB of spaces.
    "3k-nested-list-items-by-indentation":
        (3_000, lambda n: "\n".join(_indentation(depth) + "- item" for depth in range(n))),
    "3k-nested-list-markers-on-one-line": (3_000, lambda n: "- " * n + "item"),
    "10k-backticks": (10_000, lambda n: "`" * n),
    "10k-backticks-around-text": (5_000, lambda n: "`" * n + "x" + "`" * (n - 1)),
    "backtick-runs-of-growing-length": (300, lambda n: "".join("`" * k + "x" for k in range(1, n))),
    "2k-reference-uses": (2_000, lambda n: "[a]: https://example.com\n\n" + "[a]" * n),
    "6k-entities": (6_000, lambda n: "&#x" * n),
    "8k-angle-brackets": (8_000, lambda n: "<a " * n),
    "16k-scheme-separators": (16_000, lambda n: "://" * n),  # was 17 s: markdown-it-py's linkify
    "6k-unlinkable-urls": (6_000, lambda n: "<http://" * n),  # was 9 s, same cause
    "6k-table-rows": (6_000, lambda n: "|a\n|-\n" + "|\n" * n),  # was 2-3 s: html5lib's walker
    # 4 of these took 17 s and 370 MB; 50 KB of them, minutes and gigabytes.
    "50kb-of-padded-tables": (50_000, lambda n: (_PADDED_TABLE * 40)[:n]),
}


def _timed(render, source: str) -> tuple[float, str]:
    """CPU seconds this thread spent in `render(source)`: other processes do not count."""
    start = time.thread_time()
    output = render(source)
    return time.thread_time() - start, output


def growth(render, make_source, n: int, attempts: int = 5) -> tuple[float, float, str]:
    """How the time per character of `render` grows from an input of size n/4 to one of size
    n: about 1 when the work is linear, 4 when it is quadratic. Times are the thread's CPU
    time (a busy machine does not count) of one small and one large render side by side, so
    that a tracer (coverage) or a slower moment weighs on both alike; the pair is timed again
    while the growth looks too fast, and the lowest growth kept (best of `attempts`).
    Returns the growth, the time for size n and what `render` made of that input."""
    small, large = make_source(n // 4), make_source(n)
    best = float("inf")
    for _ in range(attempts):
        small_time, _output = _timed(render, small)
        large_time, output = _timed(render, large)
        ratio = (large_time / len(large)) / (max(small_time, 1e-6) / len(small))
        if ratio < best:
            best, best_large = ratio, large_time
        if best < GROWTH_LIMIT or large_time < NEGLIGIBLE:
            return best, large_time, output
    return best, best_large, output


@pytest.mark.parametrize("size, make_source", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_input_renders_in_bounded_time(size, make_source):
    ratio, elapsed, output = growth(markup.render, make_source, size)
    assert elapsed < NEGLIGIBLE or ratio < GROWTH_LIMIT, (
        f"time per character grew {ratio:.1f} times from n/4 to n={size:,} ({elapsed:.2f} s)")
    assert elapsed < TIME_LIMIT, f"render took {elapsed:.2f} s"
    assert_safe(make_source(size)[:200], output)
    assert output.count("<td") + output.count("<th") <= 10_000  # board.markup's cell budget


def test_the_growth_check_tells_quadratic_work_from_linear():
    def linear(source):
        return sum(1 for _ in source)

    def quadratic(source):
        return sum(1 for i in range(0, len(source), 8) for _ in source)

    linear_growth = growth(linear, lambda n: "a" * n, 4_000_000)[0]
    assert linear_growth < GROWTH_LIMIT
    # growth() keeps the lowest of its tries (it must never fail linear work), so noise can
    # only pull a quadratic figure down from 4: under a tracer on a loaded machine it was
    # seen at 2.3. It still stands well clear of linear work.
    assert growth(quadratic, lambda n: "a" * n, 8_000)[0] > max(2.0, 1.5 * linear_growth)


def test_a_large_table_still_renders_whole():
    rows = "".join(f"| {n} | b | c | d |\n" for n in range(100))
    output = markup.render("| a | b | c | d |\n|---|:-:|---|--:|\n" + rows)
    assert output.count("<td") == 400
    assert '<td class="align-right">d</td>' in output
    assert "|" not in output


# The worst 50 KB shapes for the whole pipeline (parse, render, sanitize): each took 1.1 to 1.5 s
# of CPU before board.markup had a render budget; now each costs 150 ms at most, or less.
WORST_50KB = {
    "one-line-list-items": lambda: "- a\n" * 13_000,
    "paragraphs": lambda: "a\n\n" * 17_000,
    "emphasised-words": lambda: "*a* " * 13_000,
    "code-spans": lambda: "`a` " * 13_000,
    "table-rows": lambda: "|a\n|-\n" + "|\n" * 25_000,
    "autolinks": lambda: "http://a.bc " * 4_000,
    "hard-breaks": lambda: "a  \n" * 13_000,
    "quoted-lines": lambda: "> a\n" * 13_000,
}
RENDER_BUDGET = 0.5  # seconds of CPU, best of 3: generous, so that it holds under coverage


@pytest.mark.parametrize("make_source", WORST_50KB.values(), ids=WORST_50KB.keys())
def test_a_50kb_post_renders_within_the_render_budget(make_source):
    source = make_source()[:50_000]
    best = min(_cpu_time(markup.render, source) for _ in range(3))
    assert best < RENDER_BUDGET, f"render took {best:.2f} s of CPU"


def _cpu_time(function, *args) -> float:
    start = time.process_time()
    function(*args)
    return time.process_time() - start


def test_a_post_beyond_the_render_budget_is_its_plain_text():
    source = "- <b>item</b> & *more*\n" * 3_000 + "\n\nlast [line](https://example.org)"
    output = markup.render(source)
    assert_safe(source[:200], output)
    assert "too much formatting to be shown as Markdown" in output
    assert "<li>" not in output and "<a " not in output and "<b>" not in output
    assert "<p>- &lt;b&gt;item&lt;/b&gt; &amp; *more*<br>\n- &lt;b&gt;" in output
    assert output.startswith("<p>- &lt;b&gt;item&lt;/b&gt; &amp; *more*<br>\n")
    assert output.endswith("<p>last [line](https://example.org)</p>\n<p><em>This message has "
                           "too much formatting to be shown as Markdown: here is its plain "
                           "text.</em></p>\n")
    assert markup.excerpt(output).startswith("- <b>item</b> & *more* - <b>item</b>")


def test_a_long_formatted_post_within_the_budget_stays_markdown():
    paragraph = "Voici un *paragraphe*, avec un [lien](https://example.org) et du `code`. " * 5
    output = markup.render((paragraph + "\n\n") * 30)  # 11 KB, 1,600 tokens
    assert output.count("<em>") == 150 and "too much formatting" not in output


# A fence whose info string is only whitespace ("``` " with a trailing space is common) once
# made the renderer raise IndexError: the post failed with a server error.
@pytest.mark.parametrize("source", ["``` \ncode\n```", "~~~\t\ncode\n~~~", "```\u00a0\ncode\n```"])
def test_fence_with_a_blank_info_string(source):
    assert_safe(source, markup.render(source))


def test_rendering_from_several_threads_gives_the_same_html():
    # Each thread gets its own bleach cleaner: a shared one mixes up parser state.
    from concurrent.futures import ThreadPoolExecutor

    sources = [f"**{n}** | [lien](https://example.org/{n})\n\n> citation {n}" for n in range(200)]
    expected = [markup.render(source) for source in sources]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(markup.render, sources)) == expected
