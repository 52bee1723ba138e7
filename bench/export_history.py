"""Time `flask travaux export` on a history of N incidents (default 1,000).

    .venv/bin/python bench/export_history.py [N]

Builds a throw-away SQLite database (or uses DATABASE_URL), loads the demo, adds N closed
incidents with three updates each and one linked thread, then exports twice and prints the
times. Nothing outside a temporary folder is touched.
"""

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
WORK = Path(tempfile.mkdtemp(prefix="board-bench-"))
os.environ.setdefault("BOARD_INSTANCE_PATH", str(WORK / "instance"))
os.environ.setdefault("TRAVAUX_PUBLIC_URL", "https://etat.example.org")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from board import create_app  # noqa: E402
from board.clock import now  # noqa: E402
from board.extensions import db  # noqa: E402
from board.markup import render  # noqa: E402
from board.travaux.export import export  # noqa: E402
from board.travaux.models import Incident, IncidentUpdate, Service, incident_services  # noqa: E402


def load_history(count: int) -> None:
    from board.accounts.models import User

    admin = db.session.scalar(select(User).where(User.role == "admin"))
    services = db.session.scalars(select(Service)).all()
    start = now() - timedelta(days=3 * count // 10 + 1)
    html = render("Nous **enquêtons** sur le problème. Merci de votre patience.")
    for n in range(count):
        opened = start + timedelta(hours=7 * n)
        incident = Incident(kind="maintenance" if n % 4 == 0 else "incident",
                            title=f"Opération passée numéro {n}", impact="minor",
                            status="completed" if n % 4 == 0 else "resolved",
                            created_at=opened, updated_at=opened + timedelta(hours=2),
                            resolved_at=opened + timedelta(hours=2), author_id=admin.id,
                            window_start=opened if n % 4 == 0 else None,
                            window_end=opened + timedelta(hours=2) if n % 4 == 0 else None)
        db.session.add(incident)
        db.session.flush()
        db.session.execute(insert(incident_services),
                           [{"incident_id": incident.id, "service_id": services[n % 5].id}])
        rows = [{"incident_id": incident.id, "status": s, "body_source": "x", "body_html": html,
                 "author_id": admin.id, "created_at": opened + timedelta(minutes=40 * i)}
                for i, s in enumerate((incident.status, incident.status, incident.status))]
        db.session.execute(insert(IncidentUpdate), rows)
    db.session.commit()


def main() -> None:
    app = create_app()
    with app.app_context():
        upgrade()
        app.test_cli_runner().invoke(args=["demo"])
        started = time.perf_counter()
        load_history(COUNT)
        print(f"loaded {COUNT} incidents in {time.perf_counter() - started:.1f} s "
              f"({db.engine.dialect.name})")
        for attempt in (1, 2):
            counts = export(WORK / "site")
            print(f"export {attempt}: {counts['pages']} pages, {counts['incidents']} operations, "
                  f"{counts['seconds']} s")
        size = sum(p.stat().st_size for p in (WORK / "site").resolve().rglob("*") if p.is_file())
        print(f"site size: {size / 1e6:.1f} MB in {WORK / 'site'}")


if __name__ == "__main__":
    main()
