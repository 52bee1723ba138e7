"""A small site for the feed tests of every domain, told once per run and copied into each
test's database (the `site` fixture, registered in tests/conftest.py), and rows in bulk for
the tests that need many items.

Dates are checked against the rows, never against the clock: the clock is moved between
writing and fetching (board.clock.travel) to prove it.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import bindparam, func, insert, select, update

from board.accounts.models import User
from board.clock import now, travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board, Post, Thread
from board.markup import render
from board.travaux.models import Incident, IncidentUpdate, incident_services
from tests.conftest import empty_database
from tests.factories import make_board, make_thread, make_user
from tests.feedtools import BASE
from tests.travaux.factories import link_thread, make_incident, make_service, post_update

KINDS = ("site", "board", "thread", "travaux", "service", "incident")


# The story -------------------------------------------------------------------------------

class Site(SimpleNamespace):
    """Two boards (one staff-only), a question with replies, an incident with its discussion
    and a linked report, a maintenance next week. Ids only, so that reading them costs no SQL."""

    def path(self, kind: str) -> str:
        return {
            "site": "/feed",
            "board": "/boards/general/feed",
            "thread": f"/threads/{self.question}/feed",
            "travaux": "/travaux/feed",
            "service": "/travaux/feed?service=mail",
            "incident": f"/travaux/incidents/{self.incident}/feed",
        }[kind]

    def paths(self) -> list[str]:
        return [self.path(kind) for kind in KINDS] + [
            "/boards/travaux/feed", f"/threads/{self.report}/feed",
            f"/threads/{self.discussion}/feed", "/travaux/feed?service=web",
            f"/travaux/incidents/{self.maintenance}/feed"]


QUESTION_BODY = ("Mon site renvoie une erreur 500, voir [le statut](/travaux/) et la capture "
                 "![capture](/static/capture.png).")


def at(minutes: int):
    """A moment of the story: minutes from now, so that every row has its own time."""
    return travel(timedelta(minutes=minutes))


_SNAPSHOT: dict = {}


@pytest.fixture
def site(app) -> Site:
    """The story below, told once per run through the services, then copied back row by row
    into each test's emptied database (about twenty statements instead of three hundred)."""
    if not _SNAPSHOT:
        _SNAPSHOT["site"] = tell_the_story()
        _SNAPSHOT["rows"] = dump_rows()
    else:
        restore_rows(_SNAPSHOT["rows"])
    return Site(**vars(_SNAPSHOT["site"]))


def dump_rows() -> dict[str, list[dict]]:
    return {table.name: [dict(row._mapping) for row in db.session.execute(table.select())]
            for table in db.metadata.sorted_tables}


def restore_rows(rows: dict[str, list[dict]]) -> None:
    """Empty the database (whatever the `app` fixture seeded is in the copy too), insert the
    rows table by table; the columns that point forward (use_alter foreign keys, which close
    the cycles boards → posts → threads → incidents) are set afterwards."""
    empty_database()
    later = []
    for table in db.metadata.sorted_tables:
        data = rows[table.name]
        if not data:
            continue
        forward = sorted({fk.parent.name for fk in table.foreign_keys if fk.use_alter})
        db.session.execute(table.insert(), [{**row, **dict.fromkeys(forward)} for row in data])
        pointing = [row for row in data if any(row[c] is not None for c in forward)]
        if pointing:
            later.append((table, forward, pointing))
    for table, forward, pointing in later:
        stmt = (table.update().where(table.c.id == bindparam("row_id"))
                .values({c: bindparam(f"new_{c}") for c in forward}))
        db.session.execute(stmt, [{"row_id": row["id"], **{f"new_{c}": row[c] for c in forward}}
                                  for row in pointing])
    db.session.commit()


def tell_the_story() -> Site:
    alice = make_user(name="Alice Martin", email="alice.martin@example.org")
    bob = make_user(name="Bob Durand", email="bob.durand@exemple.fr")
    admin = make_user(role="admin", name="Équipe technique", email="astreinte@hebergeur.example")
    moderator = make_user(role="moderator", name="Modération", email="modo@hebergeur.example")
    web = make_service("web", "Hébergement web", position=1)
    mail = make_service("mail", "Messagerie", position=2)
    web.legacy_id, mail.legacy_id = 12, 7
    general = make_board(slug="general", name="Questions & réponses")
    staff = make_board(visibility="staff", slug="equipe", name="Équipe")
    with at(1):
        question = make_thread(board=general, author=alice, title="Mon site affiche une erreur",
                               body=QUESTION_BODY)
    with at(2):
        answer = forum.reply(question, bob, "Essayez de **vider** le cache.")
    with at(3):
        thanks = forum.reply(question, alice, "Merci, c'est réparé !")
    with at(4):
        secret = make_thread(board=staff, author=admin, title="Note interne très secrète",
                             body="Mot de passe du routeur : hunter2")
    with at(5):
        incident = make_incident(admin, services=[mail], title="Lenteurs de la messagerie",
                                 impact="major", message="Nous enquêtons.")
    with at(6):
        report = make_thread(board=general, author=bob, title="Mes mails n'arrivent plus",
                             body="Depuis ce matin, plus rien.")
    with at(7):
        link_thread(incident, report, admin)
        link_thread(incident, secret, admin)
    with at(8):
        identified = post_update(incident, admin, "identified", "Un serveur est saturé.")
    with at(9):
        start = now() + timedelta(days=7)
        maintenance = make_incident(admin, kind="maintenance", services=[web],
                                    title="Mise à jour de PHP", impact="minor",
                                    message="Coupures brèves.",
                                    window=(start, start + timedelta(hours=2)))
    discussion = db.session.scalar(select(Thread.id).where(
        Thread.incident_id == incident.id, Thread.id != report.id, Thread.id != secret.id))
    maintenance_thread = db.session.scalar(select(Thread.id).where(
        Thread.incident_id == maintenance.id))
    opening = db.session.scalar(select(func.min(IncidentUpdate.id)).where(
        IncidentUpdate.incident_id == incident.id))
    db.session.commit()
    return Site(
        moderator_email=moderator.email, question=question.id, question_slug=question.slug,
        answer=answer.id, thanks=thanks.id, first_post=forum.first_post_id(question),
        secret=secret.id, incident=incident.id, report=report.id, report_slug=report.slug,
        discussion=discussion, maintenance=maintenance.id, maintenance_thread=maintenance_thread,
        opening=opening, identified=identified.id,
        emails=[u.email for u in (alice, bob, admin, moderator)])


def obj(model, ident):
    return db.session.get(model, ident)


def thread_link(thread_id: int, slug: str, query: str = "", anchor: str = "") -> str:
    return f"{BASE}/threads/{thread_id}/{slug}{query}{anchor}"


# Changes the feeds of several domains must follow ------------------------------------------

def reply_to_the_question(site):
    forum.reply(obj(Thread, site.question), obj(Post, site.answer).author, "Et maintenant ?")


def move_the_report(site):
    """Move the report to the board "messagerie" (the test creates it)."""
    target = db.session.scalar(select(Board).where(Board.slug == "messagerie"))
    forum.move(obj(Thread, site.report), target, make_user(role="moderator"))


# Rows in bulk: many items in a few statements ---------------------------------------------

def add_posts(thread_id: int, authors: list, count: int, body: str = "Réponse *rapide*"):
    """`count` posts in a thread, one second apart, in one statement, counters kept."""
    html, start = render(body), now()
    db.session.execute(insert(Post), [
        {"thread_id": thread_id, "author_id": authors[i % len(authors)].id,
         "body_source": body, "body_html": html, "created_at": start + timedelta(seconds=i + 1),
         "official": False} for i in range(count)])
    forum.recount_all()


def post_ids(thread_id: int) -> list[int]:
    return db.session.scalars(select(Post.id).where(Post.thread_id == thread_id)
                              .order_by(Post.created_at, Post.id)).all()


def add_threads(board_id: int, authors: list, count: int):
    """`count` threads with their first posts, a second apart, counters kept."""
    start = now()
    first = db.session.scalar(select(func.count(Thread.id)).where(Thread.board_id == board_id))
    rows = [{"board_id": board_id, "author_id": authors[i % len(authors)].id,
             "title": f"Sujet {first + i}", "slug": f"sujet-{first + i}",
             "created_at": start + timedelta(seconds=first + i),
             "last_activity_at": start + timedelta(seconds=first + i), "post_count": 1,
             "pinned": False, "changed_at": start} for i in range(count)]
    db.session.execute(insert(Thread), rows)
    threads = db.session.execute(select(Thread.id, Thread.author_id, Thread.created_at)
                                 .where(Thread.board_id == board_id,
                                        Thread.title.in_([r["title"] for r in rows]))).all()
    db.session.execute(insert(Post), [
        {"thread_id": t.id, "author_id": t.author_id, "body_source": f"Texte {t.id}",
         "body_html": f"<p>Texte {t.id}</p>", "created_at": t.created_at, "official": False}
        for t in threads])
    forum.recount_all()


def add_updates(incident_id: int, authors: list, count: int):
    """`count` more updates on an incident, a second apart."""
    start = now()
    db.session.execute(insert(IncidentUpdate), [
        {"incident_id": incident_id, "status": "identified", "body_source": f"Point {i}",
         "body_html": f"<p>Point {i}</p>", "author_id": authors[i % len(authors)].id,
         "created_at": start + timedelta(seconds=i + 1)} for i in range(count)])
    last_id = db.session.scalar(select(func.max(IncidentUpdate.id))
                                .where(IncidentUpdate.incident_id == incident_id))
    db.session.execute(update(Incident).where(Incident.id == incident_id).values(
        last_update_id=last_id, updated_at=start + timedelta(seconds=count),
        status="identified"))
    db.session.commit()


def add_incidents(service_id: int, authors: list, count: int):
    """`count` incidents on a service, each with an update, by different authors."""
    start = now()
    first = db.session.scalar(select(func.count(Incident.id)))
    titles = [f"Incident {first + i}" for i in range(count)]
    db.session.execute(insert(Incident), [
        {"kind": "incident", "title": titles[i], "impact": "minor", "status": "investigating",
         "status_manual": False, "created_at": start + timedelta(seconds=first + i),
         "updated_at": start + timedelta(seconds=first + i),
         "author_id": authors[i % len(authors)].id} for i in range(count)])
    incidents = db.session.execute(select(Incident.id, Incident.created_at, Incident.author_id)
                                   .where(Incident.title.in_(titles))).all()
    db.session.execute(insert(incident_services),
                       [{"incident_id": i.id, "service_id": service_id} for i in incidents])
    db.session.execute(insert(IncidentUpdate), [
        {"incident_id": i.id, "status": "investigating", "body_source": "Vu.",
         "body_html": "<p>Vu.</p>", "author_id": i.author_id, "created_at": i.created_at}
        for i in incidents])
    last = (select(func.max(IncidentUpdate.id))
            .where(IncidentUpdate.incident_id == Incident.id).scalar_subquery())
    db.session.execute(update(Incident).where(Incident.title.in_(titles))
                       .values(last_update_id=last))
    db.session.commit()


def make_users(count: int, role: str = "member") -> list[User]:
    """`count` users in one statement (they share the first one's password hash)."""
    first = make_user(role=role)
    tag = f"{first.id}-{role}"
    db.session.execute(insert(User), [
        {"email": f"auteur{n}-{tag}@example.org", "name": f"Auteur {n} {tag}",
         "password_hash": first.password_hash, "role": role, "created_at": now(),
         "confirmed_at": now()} for n in range(count - 1)])
    db.session.commit()
    return [first, *db.session.scalars(select(User).where(User.email.like(f"auteur%-{tag}@%"))
                                       .order_by(User.id))]
