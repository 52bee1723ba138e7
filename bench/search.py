"""Search latency on a large forum: `python bench/search.py` (or `make bench-search`).

    python bench/search.py                                          # SQLite, 100,000 posts
    BENCH_DB=postgresql://postgres@127.0.0.1:5432/test python bench/search.py   # 1,000,000
    BENCH_THREADS=20000 ...                                         # another size (x10 posts)

Seeds a throw-away database with `flask bench seed` (bulk inserts, then `search reindex`),
serves it with gunicorn (2 sync workers, as `make bench` does) and times sequential GETs of
/search?q= for 20 French queries over one keep-alive connection, as a guest: the first of
each is a warm-up, then BENCH_SAMPLES more. Prints p50 and p95 over every sample, and the
median of each query. Each request gives its own X-Forwarded-For (TRUSTED_PROXIES=1) so that
the per-visitor rate limit measures nothing here.
"""

import http.client
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import app_env, database, gunicorn, seed  # noqa: E402

QUERIES = ["erreur 503", "web7", "lenteur serveur", "panne depuis hier", "boîte mail pleine",
           "certificat expiré", "sauvegarde restauration", "mot de passe webmail", "filtre spam",
           "quota", "redirection de page", "délai de réponse", "connexion base", "fichier php",
           "zone du domaine", "envoi et réception", "accès refusé", "lenteurs",
           "incident lenteurs", "erreur 503 sur web7 ce matin"]
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "5"))


def timings(base: str, query: str, visitor: list[int]) -> list[float]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    path = "/search?q=" + quote(query)
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    server = os.environ.get("BENCH_DB") or None
    threads = int(os.environ.get("BENCH_THREADS") or (100_000 if server else 10_000))
    kind = "PostgreSQL" if server else "SQLite"
    print(f"# search bench on {kind}: {threads} threads x 10 posts, gunicorn with 2 workers, "
          f"{SAMPLES} timed GETs per query after one warm-up")
    with database(server, "search") as (url, folder):
        seconds = seed(url, folder, threads)
        print(f"seeded and indexed in {seconds:.0f} s")
        env = app_env(url, folder)
        env["TRUSTED_PROXIES"] = "1"
        every, visitor = [], [0]
        with gunicorn("wsgi:app", env) as (base, _pid):
            print("\n| query | median ms |\n| --- | --- |")
            for query in QUERIES:
                samples = timings(base, query, visitor)
                every += samples
                print(f"| {query} | {statistics.median(samples):.0f} |")
    print(f"\np50 {percentile(every, 0.50):.0f} ms, p95 {percentile(every, 0.95):.0f} ms "
          f"over {len(every)} searches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
