"""`flask bench seed`: a large, believable forum for `make bench` (bench/run.py).

Rows go in by bulk INSERT (a million posts take a minute, not an hour), with the Markdown of
a few dozen bodies rendered once and reused; the counters are then recounted by the forum,
the search index rebuilt and PostgreSQL's statistics refreshed, as after any bulk load.
"""

import random
from datetime import timedelta

import click
from sqlalchemy import func, insert, select, text

from board.accounts.models import User
from board.accounts.services import hash_password
from board.clock import now
from board.extensions import db, refresh_statistics
from board.forum import services as forum
from board.forum.models import PUBLIC, STAFF, Post, Thread
from board.markup import excerpt, render
from board.search import services as search
from board.travaux.models import Incident, IncidentUpdate, Service, incident_services
from board.visibility import GUEST, can_see_board

BOARDS = [("hebergement-web", "Hébergement web", PUBLIC), ("mail", "Mail", PUBLIC),
          ("domaines-dns", "Noms de domaine et DNS", PUBLIC),
          ("bases-de-donnees", "Bases de données", PUBLIC), ("annonces", "Annonces", PUBLIC),
          ("equipe", "Coin de l'équipe", STAFF)]
SERVICES = [("hebergement-web", "Hébergement web"), ("mail", "Messagerie"), ("dns", "DNS"),
            ("bases-de-donnees", "Bases de données"), ("manager", "Espace client")]
WORDS = ("site serveur erreur lenteur mail boîte envoi réception certificat domaine zone base "
         "sauvegarde restauration php fichier accès mot de passe webmail filtre spam quota "
         "redirection page connexion délai réponse panne depuis hier matin soir").split()
BATCH = 5000


def _body(rng: random.Random, n: int) -> str:
    """About 450 characters of Markdown: paragraphs, emphasis, a list, sometimes code."""
    def sentence():
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 14))]
        return " ".join(words).capitalize() + "."

    parts = [f"Bonjour, {sentence()} **{rng.choice(WORDS)}** {sentence()}",
             "\n".join(f"- {sentence()}" for _ in range(2)), sentence()]
    if n % 3 == 0:
        parts.append("`erreur 503` sur `web7` " + sentence())
    return "\n\n".join(parts)


def _insert(model, rows) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start:start + BATCH])


def seed(threads: int, posts_per_thread: int, incidents: int = 50, seed_value: int = 7) -> dict:
    """Fill an empty database with `threads` threads of `posts_per_thread` posts. Commits."""
    rng = random.Random(seed_value)
    moment = now()
    password = hash_password("bench-password-2026")
    users = [{"email": f"membre{i}@bench.example", "name": f"Membre {i}", "role": "member",
              "password_hash": password, "created_at": moment, "confirmed_at": moment,
              "session_version": 1} for i in range(200)]
    users.append({"email": "admin@bench.example", "name": "Admin", "role": "admin",
                  "password_hash": password, "created_at": moment, "confirmed_at": moment,
                  "session_version": 1})
    _insert(User, users)
    user_ids = db.session.scalars(select(User.id).order_by(User.id)).all()
    admin_id = user_ids[-1]
    boards = []
    for position, (slug, name, audience) in enumerate(BOARDS):
        boards.append(forum.add_board(slug, name, f"Le forum {name}.", audience, position))
    public = [b.id for b in boards if can_see_board(GUEST, b)]
    bodies = [_body(rng, n) for n in range(40)]
    rendered = [(b, html, excerpt(html)) for b in bodies for html in [render(b)]]
    span = timedelta(days=365)
    start = moment - span
    step = span / max(threads, 1)
    thread_rows = []
    for n in range(threads):
        board_id = boards[-1].id if n % 50 == 49 else public[n % len(public)]
        created = start + step * n
        title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {rng.choice(WORDS)} {n}"
        # Affected: the author, as services.open_thread counts them.
        thread_rows.append({"board_id": board_id, "author_id": rng.choice(user_ids),
                            "title": title, "slug": forum.slugify(title), "created_at": created,
                            "last_activity_at": created, "changed_at": created,
                            "post_count": 0, "pinned": n < 2, "affected_count": 1})
    _insert(Thread, thread_rows)
    thread_ids = db.session.execute(select(Thread.id, Thread.created_at)
                                    .order_by(Thread.id)).all()
    post_rows = []
    for thread_id, created in thread_ids:
        for k in range(posts_per_thread):
            source, html, preview = rendered[(thread_id + k) % len(rendered)]
            post_rows.append({"thread_id": thread_id, "author_id": rng.choice(user_ids),
                              "body_source": source, "body_html": html, "excerpt": preview,
                              "official": False,
                              "created_at": created + timedelta(minutes=7 * k)})
        if len(post_rows) >= BATCH * 4:
            _insert(Post, post_rows)
            post_rows = []
    _insert(Post, post_rows)
    db.session.flush()
    _seed_travaux(incidents, admin_id, moment, thread_ids)
    # Statistics first: without them, PostgreSQL recounts each thread by reading all posts.
    refresh_statistics(vacuum=False)
    forum.recount_all()
    search.reindex()  # bulk inserts pass the ORM by: index them in one go
    refresh_statistics()
    return {"threads": threads, "posts": db.session.scalar(select(func.count(Post.id))),
            "incidents": incidents + 1}


def _seed_travaux(count: int, admin_id: int, moment, thread_ids) -> None:
    """`count` resolved incidents with three updates each, and one ongoing, linked to the
    newest thread."""
    services = [Service(slug=slug, name=name, description="", position=i)
                for i, (slug, name) in enumerate(SERVICES)]
    db.session.add_all(services)
    db.session.flush()
    html = render("Nous **enquêtons** sur le problème. Merci de votre patience.")
    for n in range(count + 1):
        ongoing = n == count
        opened = moment - timedelta(days=(count - n) * 7 + 1) if not ongoing else moment
        incident = Incident(kind="incident", title=f"Incident {n} : lenteurs", impact="minor",
                            status="identified" if ongoing else "resolved", author_id=admin_id,
                            created_at=opened, updated_at=opened + timedelta(hours=2),
                            resolved_at=None if ongoing else opened + timedelta(hours=2))
        db.session.add(incident)
        db.session.flush()
        db.session.execute(insert(incident_services), [
            {"incident_id": incident.id, "service_id": services[n % len(services)].id}])
        updates = []
        for k, status in enumerate(["investigating", "identified"] if ongoing
                                   else ["investigating", "identified", "resolved"]):
            updates.append(IncidentUpdate(incident_id=incident.id, status=status,
                                  body_source="Nous **enquêtons**.", body_html=html,
                                  excerpt=excerpt(html),
                                  author_id=admin_id, created_at=opened + timedelta(hours=k)))
        db.session.add_all(updates)
        db.session.flush()
        incident.last_update_id = updates[-1].id
        if ongoing and thread_ids:
            db.session.execute(text("UPDATE threads SET incident_id = :i WHERE id = :t"),
                               {"i": incident.id, "t": thread_ids[-1][0]})


@click.group("bench", help="Benchmark data (make bench).")
def bench():
    pass


@bench.command("seed")
@click.option("--threads", default=2000, show_default=True)
@click.option("--posts-per-thread", default=10, show_default=True)
@click.option("--incidents", default=50, show_default=True)
def seed_command(threads: int, posts_per_thread: int, incidents: int):
    """Fill an EMPTY database with a large forum and a Travaux history."""
    if db.session.scalar(select(func.count(User.id))):
        raise click.ClickException("the database is not empty: bench data goes into an empty one")
    counts = seed(threads, posts_per_thread, incidents)
    click.echo(f"seeded {counts['threads']} threads, {counts['posts']} posts, "
               f"{counts['incidents']} incidents")


def init_app(app) -> None:
    """The `flask bench seed` command."""
    app.cli.add_command(bench)
