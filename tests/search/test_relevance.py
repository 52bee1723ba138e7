"""Relevance on French queries: a judged set against the demo data (tests/data)."""

from board.extensions import db
from tests.search.conftest import judged, results

# What the suite reaches on each database (landed first, in the top 3, met its rank), of 56
# judgements: a change to the analysis or the ranking may raise these, never lower them.
# (They were 53/56/56 and 50/56/55 before the demo gained months of past incidents: those
# named by a query's words now come first, and "lenteurs imap thunderbird" finds the IMAP
# incident before the slow webmail report; weighing freshness, board/search/services.py's
# FRESHNESS, won two firsts back on SQLite, none on PostgreSQL.)
REACHED = {"sqlite": (50, 56, 55), "postgresql": (49, 55, 55)}


def test_the_judged_french_queries_find_what_they_should(client, demo):
    first = top3 = met = 0
    misses = []
    for judgement in judged()["judgements"]:
        found = results(client.get("/search", query_string={"q": judgement["q"]}))
        rank = found.index(judgement["expect"]) + 1 if judgement["expect"] in found else None
        first += rank == 1
        top3 += rank is not None and rank <= 3
        if rank is not None and rank <= judgement["rank"]:
            met += 1
        else:
            misses.append(f"{judgement['q']!r}: {judgement['expect']} at {rank}, got {found[:3]}")
    count = len(judged()["judgements"])
    print(f"\nrelevance ({db.engine.dialect.name}), {count} judgements: first {first}, "
          f"top 3 {top3}, met {met}")
    print("\n".join(misses))
    assert count >= 40
    reached = REACHED[db.engine.dialect.name]
    assert first >= reached[0] and top3 >= reached[1] and met >= reached[2], misses
