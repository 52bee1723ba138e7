"""Travaux factories: services and incidents built through board.travaux.services."""

import itertools
from datetime import timedelta

from board.clock import now
from board.extensions import db
from board.travaux import services as travaux
from board.travaux.models import Service
from board.urls import site_context
from tests.factories import make_user

_seq = itertools.count(1)


def make_service(slug=None, name=None, position=0):
    n = next(_seq)
    service = Service(slug=slug or f"service-{n}", name=name or f"Service {n}",
                      description="", position=position)
    db.session.add(service)
    db.session.commit()
    return service


def make_incident(author=None, kind="incident", services=(), title=None, impact="minor",
                  message="Nous regardons.", status=None, window=None):
    """Open an incident (or a maintenance) as the application does, discussion thread
    included. A maintenance without a window runs from an hour ago to an hour from now."""
    author = author or make_user(role="admin")
    if kind == "maintenance" and window is None:
        window = (now() - timedelta(hours=1), now() + timedelta(hours=1))
    with site_context():
        return travaux.open_incident(
            author, kind=kind, title=title or f"Incident number {next(_seq)}", impact=impact,
            services=list(services), message=message, status=status,
            window=window or (None, None))


def post_update(incident, author, status, message="Du nouveau.", reopen=False):
    with site_context():
        return travaux.post_update(incident, author, status, message, reopen=reopen)


def link_thread(incident, thread, author):
    with site_context():
        travaux.link_thread(incident, thread, author)
