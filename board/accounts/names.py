"""Display names as people see them: lookalikes share one key, and one name keeps to one script.

The key is NFKC and case folding (fullwidth and other compatibility forms, capitals), then a
confusables skeleton (Unicode TR 39: Cyrillic `о` and Latin `o`, `rn` and `m`, `0` and `O`),
as TR 39 advises for comparing without case; prototypes that are capitals (`0` → `O`) are
folded and mapped once more. Capital-only lookalikes (Cyrillic `М`) are left to the script
rule: a name mixing Latin and Cyrillic is refused. The skeleton data comes from
confusable_homoglyphs (Unicode's confusables.txt as pairs), whose script table also says
which script each character belongs to.
"""

import unicodedata
from functools import cache

# Characters of no script of their own: digits, spaces, punctuation, combining accents.
NEUTRAL_SCRIPTS = {"COMMON", "INHERITED"}
_LRM = "\u200e"


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character to one representative of its class.

    confusables.txt maps every source character to a prototype; the package keeps each
    mapping as a pair both ways, so a class is the star around its prototype. The prototype
    is the longest member (a sequence such as `rn`, which can only be a prototype), else the
    one with the most lookalikes, else the smallest: any fixed choice compares the same.
    """
    # Loaded here: the tables weigh 8 MB, and only registrations and renames compare names.
    from confusable_homoglyphs import confusables

    # Right-to-left characters come wrapped in LEFT-TO-RIGHT MARKs, for display only.
    data = {}
    for char, entries in confusables.confusables_data.items():
        data[char.strip(_LRM)] = [{"c": entry["c"].strip(_LRM)} for entry in entries]
    mapping = {}
    seen = set()
    for start in data:
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            item = todo.pop()
            if item in group:
                continue
            group.add(item)
            todo.extend(entry["c"] for entry in data.get(item, ()))
        seen |= group
        prototype = min(group, key=lambda c: (-len(c), -len(data.get(c, ())), c))
        for member in group:
            if len(member) == 1 and member != prototype:
                mapping[member] = prototype
    return mapping


def _skeleton(text: str) -> str:
    prototypes = _prototypes()
    text = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in text))


def name_key(name: str) -> str:
    """The comparison key of a display name: two names with one key look alike."""
    text = unicodedata.normalize("NFKC", name.strip()).casefold()
    text = " ".join(text.split())
    return _skeleton(_skeleton(text).casefold())


def is_mixed_script(name: str) -> bool:
    """True when the name mixes scripts (Latin and Cyrillic...); digits, spaces, punctuation
    and accents belong to none, so `Élodie R.` and `Karim B. 2` are one script."""
    from confusable_homoglyphs import categories  # with the names' tables (_prototypes)

    text = unicodedata.normalize("NFKC", name)
    scripts = {categories.alias(c) for c in text} - NEUTRAL_SCRIPTS
    return len(scripts) > 1
