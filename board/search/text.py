"""French text as the index sees it: words folded (case, accents), stop words dropped, stems.

PostgreSQL does this itself with the `board_fr` configuration (unaccent, then the Snowball
French stemmer and its stop words: see the migration); SQLite's FTS5 has no French stemmer,
so the same steps run here, in the same order, with the same Snowball algorithm and the same
stop words, and FTS5 indexes the result. A query goes through the same steps on both.
"""

import re
import unicodedata
from functools import cache, lru_cache

from markupsafe import Markup, escape

# PostgreSQL's tsearch_data/french.stop, which its french_stem dictionary checks after
# unaccent: so "à" or "été" never match it there, and never match here either.
STOP_WORDS = frozenset("""
au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me même mes moi
mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un
une vos votre vous c d j l à m n s t y été étée étées étés étant étante étants étantes suis es
est sommes êtes sont serai seras sera serons serez seront serais serait serions seriez
seraient étais était étions étiez étaient fus fut fûmes fûtes furent sois soit soyons soyez
soient fusse fusses fût fussions fussiez fussent ayant ayante ayantes ayants eu eue eues eus
ai as avons avez ont aurai auras aura aurons aurez auront aurais aurait aurions auriez
auraient avais avait avions aviez avaient eut eûmes eûtes eurent aie aies ait ayons ayez
aient eusse eusses eût eussions eussiez eussent""".split())
# Characters ts_headline is asked to put around a match: never in indexed text.
MARK_START, MARK_END = "\ue000", "\ue001"
MAX_QUERY = 200

WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
_MARKDOWN = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*`#>|~]+|<[^>]+>")


def fold(word: str) -> str:
    """Lower case without accents: "Réseau" -> "reseau" (what unaccent does)."""
    word = unicodedata.normalize("NFKD", word.translate(_LIGATURES).lower())
    return "".join(c for c in word if not unicodedata.combining(c))


@cache
def _stemmer():
    """The Snowball French stemmer, loaded by the first word indexed or searched."""
    import Stemmer

    return Stemmer.Stemmer("french")


@lru_cache(maxsize=200_000)
def term(word: str) -> str | None:
    """The indexed form of one word, or None for a stop word."""
    folded = fold(word)
    if folded in STOP_WORDS:
        return None
    return _stemmer().stemWord(folded)


def terms(text: str) -> list[str]:
    """The terms of a text, in order, stop words left out."""
    found = (term(w) for w in WORD.findall(text))
    return [t for t in found if t]


def plain_text(markdown: str) -> str:
    """Markdown source as plain text, for the index and its snippets."""
    text = _MARKDOWN.sub(lambda m: m.group(1) or " ", markdown)
    text = text.replace(MARK_START, "").replace(MARK_END, "").replace("\x00", "")
    return " ".join(text.split())


def clean_query(raw: str) -> str:
    """What may reach a database from a typed query: no NUL, no marks, not too long."""
    text = raw.replace("\x00", " ").replace(MARK_START, " ").replace(MARK_END, " ")
    return " ".join(text.split())[:MAX_QUERY]


def fts5_query(query_terms: list[str]) -> str:
    """An FTS5 MATCH expression: every term quoted, all of them required. Terms hold only
    letters and digits, so nothing the visitor typed is read as FTS5 syntax."""
    return " ".join(f'"{t}"' for t in dict.fromkeys(query_terms))


def highlight(text: str, query_terms: set[str], width: int = 240) -> Markup:
    """An escaped extract of `text` around its first matching words, matches in <mark>."""
    words = list(WORD.finditer(text))
    hits = [m for m in words if term(m.group()) in query_terms]
    if not hits:
        start, end = 0, min(len(text), width)
    else:
        start = max(0, hits[0].start() - width // 3)
        end = min(len(text), start + width)
        if start:
            start = text.rfind(" ", 0, start) + 1
    out, position = [], start
    for match in hits:
        if match.start() < start or match.end() > end:
            continue
        out.append(escape(text[position:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group())
        position = match.end()
    out.append(escape(text[position:end]))
    snippet = Markup("").join(out)
    return (Markup("… ") if start else Markup("")) + snippet + (Markup(" …") if end < len(text)
                                                                 else Markup(""))


def from_headline(headline: str) -> Markup:
    """ts_headline's output (plain text with our start and end characters) as escaped HTML."""
    return Markup(str(escape(headline)).replace(MARK_START, "<mark>").replace(MARK_END,
                                                                              "</mark>"))
