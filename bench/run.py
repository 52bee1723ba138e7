"""`make bench`: throughput of our pages as a share of a bare Flask app's, served the same way
in the same round, worker memory, and single-client latencies at two sizes of data.

    make bench                                  # SQLite, 2,000 threads x 10 posts
    make bench BENCH_DB=postgresql://postgres@127.0.0.1:5432/test
    make bench BENCH_DB=postgresql://... BENCH_SIZE=large   # latencies at 1,000,000 posts
    BENCH_QUICK=1 make bench                    # seconds: checks the harness itself

Method (FlaskBB's): gunicorn with 2 sync workers for each app; for each page, `wrk -t2 -c16`
for 20 s after a 5 s warm-up, anonymous GETs; the app's requests per second divided by the
bare app's `/jinja` (a cached template with a 10-item loop), or by its `/` for answers that
render nothing (304). Three rounds; the table gives the median ratio and its spread. Ratios,
not absolute figures: this machine is shared and noisy. Without wrk, a small Python load
generator stands in (the quick mode's test uses it), and the output says so.

Worker memory is read from /proc after the rounds, beside the bare app's and the floor's
(bench/floor.py: Flask with the extensions we build on and nothing of ours), so that what is
ours in a worker's RSS can be told from what the dependencies hold before our first line.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
LARGE = os.environ.get("BENCH_SIZE") == "large"
SMALL_THREADS = 40 if QUICK else 2000
BIG_THREADS = 80 if QUICK else (100_000 if LARGE else 10_000)
POSTS = 3 if QUICK else 10
DURATION = 1 if QUICK else int(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = 0.5 if QUICK else 5
ROUNDS = 1 if QUICK else int(os.environ.get("BENCH_ROUNDS", "3"))
LATENCY_SAMPLES = 5 if QUICK else 50

# Goals, as a share of the bare app: guests through the page cache against its `/`, and the
# same pages rendered (GUEST_CACHE=off, as a member's are) against its `/jinja`.
CACHED_GOAL, NOT_MODIFIED_GOAL = 0.50, 0.60
RSS_GOAL_MB = 80
RENDERED_GOALS = {"thread, 10 posts": 0.20, "board page 1": 0.25, "index": 0.25}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Databases ------------------------------------------------------------------------------

@contextmanager
def database(server_url: str | None, name: str):
    """A throw-away database: a SQLite file, or a PostgreSQL database created and dropped."""
    if not server_url:
        folder = Path(tempfile.mkdtemp(prefix=f"board-bench-{name}-"))
        yield f"sqlite:///{folder / 'bench.sqlite3'}", folder
        shutil.rmtree(folder, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    dbname = f"board_bench_{name}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    folder = Path(tempfile.mkdtemp(prefix=f"board-bench-{name}-"))
    try:
        yield url.set(database=dbname).render_as_string(hide_password=False), folder
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": dbname})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def app_env(url: str, folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (
        "REDIS_URL", "SMTP_URL", "TRAVAUX_EXPORT_DIR", "TRUSTED_PROXIES")}
    env.update(DATABASE_URL=url, BOARD_INSTANCE_PATH=str(folder / "instance"),
               SECRET_KEY="bench-secret", PYTHONPATH=str(ROOT))
    return env


def seed(url: str, folder: Path, threads: int) -> float:
    env = app_env(url, folder)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    started = time.perf_counter()
    subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    subprocess.run(flask + ["bench", "seed", "--threads", str(threads), "--posts-per-thread",
                            str(POSTS)], env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def page_ids(url: str, folder: Path) -> dict:
    """The addresses under test, read from the seeded database."""
    script = (
        "import json; from board import create_app; from board.extensions import db;"
        "from sqlalchemy import select, func; from board.forum.models import Board, Thread;"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    board = db.session.scalar(select(Board).where(Board.slug == 'hebergement-web'))\n"
        "    thread = db.session.scalar(select(Thread).where(Thread.board_id == board.id,"
        " Thread.incident_id.is_(None)).order_by(Thread.id.desc()))\n"
        "    per_page = app.config['THREADS_PER_PAGE']\n"
        "    print(json.dumps({'board': board.slug, 'thread': f'/threads/{thread.id}/"
        "{thread.slug}', 'last_page': -(-board.thread_count // per_page)}))\n")
    out = subprocess.run([PYTHON, "-c", script], env=app_env(url, folder), cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# Servers and load -----------------------------------------------------------------------

@contextmanager
def gunicorn(target: str, env: dict):
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", target], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    ready = 0
    while time.monotonic() < deadline and ready < 4:
        # Both workers booted: several answers in a row (each may come from either).
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/")
            conn.getresponse().read()
            ready += 1
        except OSError:
            time.sleep(0.2)
    try:
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def worker_memory_mb(master_pid: int) -> list[tuple[float, float, float, float]]:
    """Each worker's resident memory (RSS), in MB, and what it is made of: its own
    (anonymous) pages, the files it maps (libraries, SQLite's memory-mapped database: pages
    the kernel holds once for every process), and its proportional share (PSS: a page held
    by n processes counts 1/n)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            rollup = (entry / "smaps_rollup").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
        if ppid != master_pid:
            continue
        kb = {name: int(m.group(1)) / 1024 if (m := re.search(
            rf"^{name}:\s+(\d+) kB", text, re.M)) else 0.0
            for name, text in (("VmRSS", status), ("RssAnon", status), ("RssFile", status),
                               ("Pss", rollup))}
        found.append((kb["VmRSS"], kb["RssAnon"], kb["RssFile"], kb["Pss"]))
    return found


def wrk_rate(url: str, seconds: float, headers: dict) -> float:
    args = ["wrk", "-t2", "-c16", f"-d{max(int(seconds), 1)}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx and int(non_2xx.group(1)):
        raise RuntimeError(f"{url} answered errors under load:\n{out}")
    return float(match.group(1))


def python_rate(url: str, seconds: float, headers: dict) -> float:
    """A small stand-in for wrk: 8 keep-alive connections in threads, for `seconds`."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    stop = time.monotonic() + seconds
    counts = []

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        done = 0
        while time.monotonic() < stop:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                raise RuntimeError(f"{url} answered {response.status}")
            done += 1
        counts.append(done)

    workers = [threading.Thread(target=client) for _ in range(8)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - started)


def rate(url: str, headers: dict | None = None) -> float:
    measure = wrk_rate if shutil.which("wrk") and not os.environ.get("BENCH_NO_WRK") \
        else python_rate
    measure(url, WARMUP, headers or {})
    return measure(url, DURATION, headers or {})


def etag_of(url: str) -> str:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", parts.path)
    response = conn.getresponse()
    response.read()
    return response.getheader("ETag")


def latency_ms(base: str, path: str) -> float:
    """Median of LATENCY_SAMPLES sequential GETs over one keep-alive connection."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    samples = []
    for _ in range(LATENCY_SAMPLES + 2):
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[2:])


# The run --------------------------------------------------------------------------------

def pages(ids: dict) -> list[tuple[str, str, dict, str, str, float | None]]:
    """(label, path, headers, which app, divided by, goal) for every row of the table: guests
    through the cache, then the same pages rendered each time (the cache off)."""
    board = ids["board"]
    paths = [("thread, 10 posts", ids["thread"]), ("board page 1", f"/boards/{board}"),
             ("index", "/"), ("/travaux/", "/travaux/"), ("/feed.rss", "/feed.rss"),
             ("board feed", f"/boards/{board}/feed.rss")]
    rows = [(f"{label}, guest (cache)", path, {}, "cached", "/", CACHED_GOAL)
            for label, path in paths]
    rows += [("guest page answered 304", ids["thread"], {"If-None-Match": "ETAG"}, "cached",
              "/", NOT_MODIFIED_GOAL),
             ("feed answered 304", "/feed.rss", {"If-None-Match": "ETAG"}, "cached", "/",
              NOT_MODIFIED_GOAL)]
    rows += [(f"{label}, rendered (no cache)", path, {}, "rendered", "/jinja",
              RENDERED_GOALS.get(label)) for label, path in paths]
    return rows


def floor_memory_mb(env: dict) -> list[tuple[float, float, float, float]]:
    """Worker memory of bench/floor.py (the chosen extensions, nothing of ours), served the
    same way, once its page and its feed have been drawn a few times over."""
    with gunicorn("bench.floor:app", env) as (base, pid):
        for path in ("/", "/feed.rss"):
            latency_ms(base, path)  # GETs over one connection; any answer but 200 raises
        return worker_memory_mb(pid)


def throughput(url: str, folder: Path) -> tuple[dict, dict, list, list, list]:
    ids = page_ids(url, folder)
    rows = pages(ids)
    ratios: dict[str, list[float]] = {label: [] for label, *_ in rows}
    memory: list = []
    bare_memory: list = []
    env = app_env(url, folder)
    with gunicorn("wsgi:app", env) as (cached_base, app_pid), \
            gunicorn("wsgi:app", {**env, "GUEST_CACHE": "off"}) as (rendered_base, _pid), \
            gunicorn("bench.bare:app", env) as (bare_base, bare_pid):
        bases = {"cached": cached_base, "rendered": rendered_base}
        for _round in range(ROUNDS):
            bare = {"/jinja": rate(bare_base + "/jinja"), "/": rate(bare_base + "/")}
            for label, path, headers, app, divisor, _goal in rows:
                base = bases[app]
                if headers.get("If-None-Match") == "ETAG":
                    headers = {"If-None-Match": etag_of(base + path)}
                ratios[label].append(rate(base + path, headers) / bare[divisor])
        memory, bare_memory = worker_memory_mb(app_pid), worker_memory_mb(bare_pid)
    floor_memory = floor_memory_mb(env)
    goals = {label: (divisor, goal) for label, _p, _h, _a, divisor, goal in rows}
    return ratios, goals, memory, bare_memory, floor_memory


def latencies(url: str, folder: Path, threads: int) -> dict[str, float]:
    ids = page_ids(url, folder)
    board = ids["board"]
    # The deepest page is what the "last page" link gives (`?page=<last>`, as every old
    # link), with as many threads as are left over; the one before it is as deep and full.
    # A middle one is the farthest from both ends of the order (board/forum/listing.py).
    paths = {"thread": ids["thread"], "board page 1": f"/boards/{board}",
             "deepest board page": f"/boards/{board}?page={ids['last_page']}",
             "last full board page": f"/boards/{board}?page={max(ids['last_page'] - 1, 1)}",
             "middle board page": f"/boards/{board}?page={max(ids['last_page'] // 2, 1)}",
             "index": "/", "/travaux/": "/travaux/", "/feed.rss": "/feed.rss",
             "board feed": f"/boards/{board}/feed.rss"}
    # What each page costs to make, at both sizes: the guest cache would answer every
    # request after the first one.
    with gunicorn("wsgi:app", {**app_env(url, folder), "GUEST_CACHE": "off"}) as (base, _pid):
        return {label: latency_ms(base, path) for label, path in paths.items()}


def spread(values: list[float]) -> str:
    return f"{min(values) * 100:.1f}–{max(values) * 100:.1f} %"


def main() -> int:
    server = os.environ.get("BENCH_DB") or None
    kind = "PostgreSQL" if server else "SQLite"
    tool = "wrk" if shutil.which("wrk") and not os.environ.get("BENCH_NO_WRK") else \
        "a Python load generator (no wrk found)"
    print(f"# make bench on {kind}: {SMALL_THREADS} threads x {POSTS} posts; {ROUNDS} round(s) "
          f"of {DURATION} s per page after {WARMUP} s of warm-up, with {tool}")
    results = {}
    with database(server, "small") as (url, folder):
        seconds = seed(url, folder, SMALL_THREADS)
        print(f"seeded in {seconds:.0f} s")
        ratios, goals, memory, bare_memory, floor_memory = throughput(url, folder)
        rss = [sizes[0] for sizes in memory]
        small = latencies(url, folder, SMALL_THREADS)
    print("\n| page | median | spread | goal | met |\n| --- | --- | --- | --- | --- |")
    all_met = True
    for label, values in ratios.items():
        median = statistics.median(values)
        divisor, goal = goals[label]
        met = goal is None or median >= goal
        all_met &= met
        print(f"| {label} | {median * 100:.1f} % of bare {divisor} | {spread(values)} | "
              f"{'-' if goal is None else f'{goal * 100:.0f} %'} | "
              f"{'' if goal is None else 'yes' if met else 'no'} |")
    rss_met = max(rss) <= RSS_GOAL_MB
    all_met &= rss_met
    print(f"\nworker RSS: {', '.join(f'{r:.0f} MB' for r in rss)} (goal: at most "
          f"{RSS_GOAL_MB} MB: {'met' if rss_met else 'not met'})")
    for name, sizes in (("app", memory), ("bare app", bare_memory),
                        ("floor (bench/floor.py: the chosen extensions, nothing of ours)",
                         floor_memory)):
        print(f"  {name} workers: " + "; ".join(
            f"RSS {rss_:.0f} MB = own {anon:.0f} + mapped files {files:.0f}, PSS {pss:.0f}"
            for rss_, anon, files, pss in sizes))
    with database(server, "big") as (url, folder):
        seconds = seed(url, folder, BIG_THREADS)
        print(f"\nseeded {BIG_THREADS} threads x {POSTS} posts in {seconds:.0f} s")
        big = latencies(url, folder, BIG_THREADS)
    print(f"\n| page | {SMALL_THREADS * POSTS:,} posts | {BIG_THREADS * POSTS:,} posts | "
          "ratio | within 1.5x |\n| --- | --- | --- | --- | --- |")
    for label in small:
        ratio = big[label] / small[label]
        print(f"| {label} | {small[label]:.1f} ms | {big[label]:.1f} ms | {ratio:.2f} | "
              f"{'yes' if ratio <= 1.5 else 'no'} |")
    results = {"ratios": ratios, "rss": rss, "floor_rss": [sizes[0] for sizes in floor_memory],
               "small": small, "big": big, "all_met": all_met}
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
