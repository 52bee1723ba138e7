"""Time `/travaux/` with its 90-day bars on five years of history (default: 1,800 incidents
and maintenance, about one a day, over five services; and a report a day).

    .venv/bin/python bench/uptime_history.py [YEARS]

Builds a throw-away SQLite database (or uses DATABASE_URL), loads the demo, adds the history
by bulk INSERT, counts every day once (`flask travaux uptime`), then renders `/travaux/` and
a service page as a guest whose cache is empty, and prints times and query counts. Nothing
outside a temporary folder is touched.
"""

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

YEARS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
WORK = Path(tempfile.mkdtemp(prefix="board-bench-"))
os.environ.setdefault("BOARD_INSTANCE_PATH", str(WORK / "instance"))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, insert, select  # noqa: E402

from board import create_app, pagecache  # noqa: E402
from board.clock import now  # noqa: E402
from board.extensions import db  # noqa: E402
from board.forum.models import Board, Post, Thread  # noqa: E402
from board.travaux import uptime  # noqa: E402
from board.travaux.models import Incident, IncidentUpdate, Service, incident_services  # noqa: E402
from board.travaux.uptime_models import CommunityDay, UptimeDay  # noqa: E402

IMPACTS = ("minor", "major", "critical", "minor", "none")


def load_history(days: int) -> int:
    from board.accounts.models import User

    admin = db.session.scalar(select(User).where(User.role == "admin"))
    services = db.session.scalars(select(Service).order_by(Service.id)).all()
    board = db.session.scalar(select(Board).where(Board.slug == "hebergement-web"))
    start = now() - timedelta(days=days)
    links, updates, threads = [], [], []
    for n in range(days):
        opened = start + timedelta(days=n, hours=(n * 7) % 24)
        lasted = timedelta(minutes=20 + (n * 37) % 400)
        maintenance = n % 6 == 0
        incident = Incident(kind="maintenance" if maintenance else "incident",
                            title=f"Opération passée numéro {n}", impact=IMPACTS[n % 5],
                            status="completed" if maintenance else "resolved",
                            created_at=opened, updated_at=opened + lasted,
                            resolved_at=opened + lasted, author_id=admin.id,
                            window_start=opened if maintenance else None,
                            window_end=opened + lasted if maintenance else None)
        db.session.add(incident)
        db.session.flush()
        links.append({"incident_id": incident.id, "service_id": services[n % 5].id})
        first = "in_progress" if maintenance else "investigating"
        for status, at in ((first, opened), (incident.status, opened + lasted)):
            updates.append({"incident_id": incident.id, "status": status, "body_source": "x",
                            "body_html": "<p>x</p>", "author_id": admin.id, "created_at": at})
        threads.append({"board_id": board.id, "author_id": admin.id, "title": f"Souci {n}",
                        "slug": f"souci-{n}", "created_at": opened, "last_activity_at": opened,
                        "service_id": services[(n * 3) % 5].id})
    db.session.execute(insert(incident_services), links)
    db.session.execute(insert(IncidentUpdate), updates)
    db.session.execute(insert(Thread), threads)
    db.session.commit()
    return days


def timed(client, path: str, runs: int = 15) -> tuple[float, float, int]:
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    times = []
    for _ in range(runs):
        pagecache.store().clear()
        statements.clear()
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, max(times) * 1000, len(statements)


def main() -> None:
    app = create_app()
    with app.app_context():
        upgrade()
        app.test_cli_runner().invoke(args=["demo"])
        started = time.perf_counter()
        count = load_history(365 * YEARS)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        uptime.rebuild()
        counted = time.perf_counter() - started
        days = db.session.scalar(select(func.count()).select_from(UptimeDay))
        marks = db.session.scalar(select(func.count()).select_from(CommunityDay))
        print(f"{YEARS} years: {count} operations loaded in {loaded:.1f} s; every day counted "
              f"in {counted:.1f} s: {days} uptime rows, {marks} community rows "
              f"({db.engine.dialect.name}, {db.session.scalar(select(func.count(Post.id)))} "
              f"posts)")
        client = app.test_client()
        for path in ("/travaux/", "/travaux/services/mail"):
            median, worst, queries = timed(client, path)
            print(f"GET {path}: median {median:.0f} ms, max {worst:.0f} ms, "
                  f"{queries} queries (guest, cache emptied before each)")


if __name__ == "__main__":
    main()
