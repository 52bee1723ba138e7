"""Fan-out of one Travaux notice to 10,000 subscribers of mixed services: `make bench-fanout`.

    BENCH_DB=postgresql://postgres@127.0.0.1:5432/test python bench/fanout.py
    BENCH_SUBSCRIBERS=20000 BENCH_WORKERS=2 ...        # another size, several workers (PG)

Builds a throw-away database (`flask db upgrade`), seeds the subscriptions (the Travaux list,
all of Travaux, one to three services out of Hébergement web, Messagerie and DNS, and the
incident itself, with overlaps: some addresses are on the list, on Messagerie and on the
incident, in another case), starts a real SMTP server on loopback (aiosmtpd, in this process)
and the real worker (`flask worker`, BENCH_WORKERS processes), then an admin posts one update
of a Messagerie incident with "notify". Prints the time of the admin's update, of the fan-out
job (from the update's commit to the job done, the worker polling every 0.1 s), the delivery
rate (mails received per second, from the job done to the last mail), and checks that every
expected address got exactly one mail and nobody else any (goal: at least 35 mails a second).
Without BENCH_DB it runs on SQLite, with one worker.
"""

import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, ROOT, app_env, database  # noqa: E402

SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "10000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
GOAL = 35.0
TITLE = "Courriels en retard (banc d'essai)"
# The mix of subscriptions, as shares of SUBSCRIBERS: (kind, services, share).
MIX = [("list", (), 0.10), ("all", (), 0.10), ("services", ("mail",), 0.20),
       ("services", ("web",), 0.20), ("services", ("dns",), 0.10),
       ("services", ("mail", "web"), 0.10), ("services", ("web", "dns"), 0.10),
       ("incident", (), 0.05)]
OVERLAP = 0.05  # addresses on the list, on Messagerie and on the incident, in another case


class Counting:
    """aiosmtpd handler: who received what, and when the first and last mail came in."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: Counter = Counter()
        self.subjects: Counter = Counter()
        self.first = self.last = None

    async def handle_DATA(self, server, session, envelope):
        moment = time.perf_counter()
        subject = next((line[9:] for line in envelope.content.decode("utf-8", "replace")
                        .splitlines() if line.lower().startswith("subject: ")), "")
        with self.lock:
            for address in envelope.rcpt_tos:
                self.received[address.lower()] += 1
            self.subjects["notice" if "banc" in subject else "other"] += 1
            self.first = self.first or moment
            self.last = moment
        return "250 OK"


def smtp_server(handler):
    from aiosmtpd.controller import Controller
    from run import free_port

    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def seed(app) -> set[str]:
    """The subscriptions, in bulk; returns the addresses that must receive the notice."""
    from sqlalchemy import insert

    from board.accounts import services as accounts
    from board.clock import now
    from board.extensions import db
    from board.lists import services as lists
    from board.lists.models import Subscription
    from board.travaux.models import Service
    from board.travaux.subscription_models import TravauxSubscription, subscription_services
    from board.urls import site_context

    with app.app_context(), site_context():
        from board.travaux import services as travaux

        services = {}
        for position, (slug, name) in enumerate([("web", "Hébergement web"),
                                                 ("mail", "Messagerie"), ("dns", "DNS")]):
            services[slug] = Service(slug=slug, name=name, position=position)
            db.session.add(services[slug])
        db.session.commit()
        admin = accounts.add_user("admin@bench.example", "Admin", secrets.token_hex(8),
                                  role="admin", confirmed=True)
        db.session.commit()
        incident = travaux.open_incident(admin, kind="incident", title=TITLE, impact="major",
                                         services=[services["mail"]], message="On regarde.")
        travaux_list = lists.get_list("travaux")
        moment = now()
        expected: set[str] = set()
        subs, links, members = [], [], []
        number = 0
        for kind, slugs, share in MIX:
            for _ in range(round(SUBSCRIBERS * share)):
                number += 1
                email = f"s{number}.{kind}.{'-'.join(slugs) or 'x'}@bench.example"
                if kind == "list":
                    members.append({"list_id": travaux_list.id, "email": email,
                                    "status": "active", "token": secrets.token_urlsafe(32),
                                    "created_at": moment, "confirmed_at": moment})
                else:
                    subs.append({"id": number, "email": email, "all_services": kind == "all",
                                 "incident_id": incident.id if kind == "incident" else None,
                                 "status": "active", "token": secrets.token_urlsafe(32),
                                 "created_at": moment, "confirmed_at": moment})
                    links += [{"subscription_id": number, "service_id": services[s].id}
                              for s in slugs]
                if kind in ("list", "all", "incident") or "mail" in slugs:
                    expected.add(email)
        for n in range(round(SUBSCRIBERS * OVERLAP)):  # one address, three subscriptions
            email = f"twice{n}@bench.example"
            members.append({"list_id": travaux_list.id, "email": email.upper(),
                            "status": "active", "token": secrets.token_urlsafe(32),
                            "created_at": moment, "confirmed_at": moment})
            for incident_id in (None, incident.id):
                number += 1
                subs.append({"id": number, "email": email, "all_services": False,
                             "incident_id": incident_id, "status": "active",
                             "token": secrets.token_urlsafe(32), "created_at": moment,
                             "confirmed_at": moment})
            links.append({"subscription_id": number - 1, "service_id": services["mail"].id})
            expected.add(email)
        db.session.execute(insert(Subscription), members)
        db.session.execute(insert(TravauxSubscription), subs)
        db.session.execute(insert(subscription_services), links)
        db.session.commit()
        print(f"seeded {len(members)} list subscribers and {len(subs)} Travaux subscriptions "
              f"({len(subs) + len(members)} in all); {len(expected)} addresses must receive "
              f"the Messagerie notice")
        return expected


def post_update(app) -> tuple[float, float]:
    """The admin's update with "notify"; (seconds it took, the moment it committed)."""
    from sqlalchemy import select

    from board.accounts.models import User
    from board.extensions import db
    from board.travaux import services as travaux
    from board.travaux.models import Incident
    from board.urls import site_context

    with app.app_context(), site_context():
        incident = db.session.scalar(select(Incident).where(Incident.title == TITLE))
        admin = db.session.scalar(select(User).where(User.email == "admin@bench.example"))
        started = time.perf_counter()
        travaux.post_update(incident, admin, "identified", "Une file d'attente est bloquée.",
                            notify=True)
        done = time.perf_counter()
        return done - started, done


def job_done(app) -> bool:
    from sqlalchemy import select

    from board.extensions import db
    from board.outbox.models import OutboxMessage

    with app.app_context():
        return db.session.scalar(select(OutboxMessage.sent_at).where(
            OutboxMessage.kind == "travaux_notice")) is not None


def main() -> int:
    server = os.environ.get("BENCH_DB") or None
    workers = WORKERS if server else 1
    kind = "PostgreSQL" if server else "SQLite"
    print(f"# Travaux fan-out bench on {kind}: {SUBSCRIBERS} subscriptions, {workers} worker(s)")
    with database(server, "fanout") as (url, folder):
        env = app_env(url, folder)
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env=env,
                       cwd=ROOT, check=True, capture_output=True)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        from board import create_app

        app = create_app()
        expected = seed(app)
        handler = Counting()
        controller = smtp_server(handler)
        env["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
        processes = [subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "worker", "--interval", "0.1"], env=env,
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)]
        try:
            time.sleep(3)  # the workers are up and idle
            update_seconds, committed = post_update(app)
            while not job_done(app):
                time.sleep(0.02)
            fanned = time.perf_counter()
            deadline = fanned + 1800
            while sum(handler.received.values()) < len(expected) and time.perf_counter() < \
                    deadline:
                time.sleep(0.1)
            time.sleep(2)  # anything more (a double) would come now
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            controller.stop()
        got = handler.received
        doubles = sum(1 for count in got.values() if count > 1)
        strangers = sum(1 for address in got if address not in expected)
        missing = len(expected - set(got))
        delivered = sum(got.values())
        seconds = (handler.last or fanned) - fanned
        rate = delivered / seconds if seconds > 0 else float("inf")
        print(f"admin's update (archive + job queued): {update_seconds * 1000:.0f} ms")
        print(f"fan-out job ({len(expected)} mails queued): {fanned - committed:.2f} s")
        print(f"delivered {delivered} mails in {seconds:.1f} s: {rate:.0f} mails/s "
              f"(goal ≥ {GOAL:.0f}/s) with {workers} worker(s)")
        print(f"doubles: {doubles}; mails to subscribers of other services: {strangers}; "
              f"missing: {missing}")
        ok = doubles == 0 and strangers == 0 and missing == 0 and rate >= GOAL
        print("OK" if ok else "FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
