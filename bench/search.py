"""Search latency, /search and /search/similar, on a large forum: `make bench-search`.

    python bench/search.py                                          # SQLite, 100,000 posts
    BENCH_DB=postgresql://postgres@127.0.0.1:5432/test python bench/search.py   # 1,000,000
    BENCH_THREADS=20000 ...                                         # another size (x10 posts)
    BENCH_SEEDED=postgresql://.../board_search1m python bench/search.py  # a database seeded
                                    # before (`flask bench seed`), used as it is and kept

Seeds a throw-away database with `flask bench seed` (bulk inserts, then `search reindex`),
serves it with gunicorn (2 sync workers, as `make bench` does) and times sequential GETs of
/search?q= for 20 French queries over one keep-alive connection, as a guest: the first of
each is a warm-up, then BENCH_SAMPLES more. Prints p50 and p95 over every sample, and the
median of each query. Each request gives its own X-Forwarded-For (TRUSTED_PROXIES=1) so that
the per-visitor rate limit measures nothing here.
"""

import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import app_env, database, gunicorn, seed  # noqa: E402

QUERIES = ["erreur 503", "web7", "lenteur serveur", "panne depuis hier", "boîte mail pleine",
           "certificat expiré", "sauvegarde restauration", "mot de passe webmail", "filtre spam",
           "quota", "redirection de page", "délai de réponse", "connexion base", "fichier php",
           "zone du domaine", "envoi et réception", "accès refusé", "lenteurs",
           "incident lenteurs", "erreur 503 sur web7 ce matin"]
# Titles as a member types them on the new-thread form, for /search/similar.
TITLES = ["mon site affiche une erreur 503", "lenteur du serveur web7", "boîte mail pleine",
          "certificat expiré sur mon domaine", "impossible de restaurer ma sauvegarde",
          "mot de passe webmail refusé", "trop de spam", "quota dépassé", "redirection cassée",
          "délai de réponse énorme", "connexion à la base impossible", "fichier php introuvable",
          "zone du domaine pas à jour", "envoi de mail bloqué", "réception de mail en retard",
          "accès refusé au manager", "panne depuis hier soir", "site lent le matin",
          "erreur de connexion", "page blanche sur mon site"]
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "5"))


def timings(base: str, path: str, visitor: list[int]) -> list[float]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    samples = []
    for _ in range(SAMPLES + 1):
        visitor[0] += 1
        started = time.perf_counter()
        conn.request("GET", path, headers={"X-Forwarded-For": f"10.0.{visitor[0] // 250}."
                                                                f"{visitor[0] % 250 + 1}"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        samples.append((time.perf_counter() - started) * 1000)
    return samples[1:]


@contextmanager
def kept(url: str):
    """A database seeded before, used as it is and left in place."""
    folder = Path(tempfile.mkdtemp(prefix="board-bench-search-"))
    try:
        yield url, folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    server = os.environ.get("BENCH_DB") or None
    threads = int(os.environ.get("BENCH_THREADS") or (100_000 if server else 10_000))
    seeded = os.environ.get("BENCH_SEEDED")
    kind = "PostgreSQL" if (seeded or server or "").startswith("postgres") else "SQLite"
    size = "a database seeded before" if seeded else f"{threads} threads x 10 posts"
    print(f"# search bench on {kind}: {size}, gunicorn with 2 workers, "
          f"{SAMPLES} timed GETs per query after one warm-up")
    with (kept(seeded) if seeded else database(server, "search")) as (url, folder):
        if seeded:
            print(f"on the database seeded before: {seeded}")
        else:
            seconds = seed(url, folder, threads)
            print(f"seeded and indexed in {seconds:.0f} s")
        env = app_env(url, folder)
        env["TRUSTED_PROXIES"] = "1"
        every, similar, visitor = [], [], [0]
        with gunicorn("wsgi:app", env) as (base, _pid):
            print("\n| query | median ms |\n| --- | --- |")
            for query in QUERIES:
                samples = timings(base, "/search?q=" + quote(query), visitor)
                every += samples
                print(f"| {query} | {statistics.median(samples):.0f} |")
            print("\n| title typed (/search/similar) | median ms |\n| --- | --- |")
            for title in TITLES:
                samples = timings(base, "/search/similar?title=" + quote(title), visitor)
                similar += samples
                print(f"| {title} | {statistics.median(samples):.0f} |")
    print(f"\n/search: p50 {percentile(every, 0.50):.0f} ms, p95 {percentile(every, 0.95):.0f} "
          f"ms over {len(every)} searches")
    print(f"/search/similar: p50 {percentile(similar, 0.50):.0f} ms, "
          f"p95 {percentile(similar, 0.95):.0f} ms over {len(similar)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
