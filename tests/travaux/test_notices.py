"""What Travaux tells members in the site: their report promoted to an incident, and the news
of an incident they are affected by, pointing at the update relayed into their thread; never
through a thread they may not see."""

from sqlalchemy import select

from board.extensions import db
from board.forum import services as forum
from board.forum.notifications import Notification
from board.travaux import services as travaux
from board.travaux.models import Service
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import link_thread, post_update


def told(user) -> list[tuple[str, int | None]]:
    db.session.expire_all()
    return [(n.kind, n.post_id) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id,
                                   Notification.kind != "reply").order_by(Notification.id))]


def promote(thread, admin):
    service = Service(slug=f"web-{thread.id}", name="Hébergement web")
    db.session.add(service)
    db.session.commit()
    with site_context():
        return travaux.promote(thread, admin, kind="incident", title="Erreurs 503",
                               impact="major", services=[service], message="Nous enquêtons.")


def test_the_author_of_a_promoted_report_is_told_and_led_to_the_official_post(app, client):
    author, admin = make_user(), make_user(role="admin")
    report = make_thread(author=author, title="Mon site répond 503")
    incident = promote(report, admin)
    db.session.refresh(report)
    [(kind, post_id)] = told(author)
    assert kind == "promoted" and post_id == report.last_post_id
    client.login(author.email)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Votre signalement « Mon site répond 503 » est devenu un incident officiel" in page
    assert f'href="/posts/{post_id}"' in page
    row = db.session.scalar(select(Notification).where(Notification.kind == "promoted"))
    assert row.incident_id == incident.id


def test_members_affected_hear_of_updates_and_of_the_resolution_once_each(app):
    author, admin, bea, carl = make_user(), make_user(role="admin"), make_user(), make_user()
    report, duplicate = make_thread(author=author), make_thread(author=carl)
    forum.mark_affected(report, bea)
    forum.mark_affected(duplicate, bea)  # affected twice over: told once
    incident = promote(report, admin)
    link_thread(incident, duplicate, admin)
    post_update(incident, admin, "identified", "Un disque est en panne.")
    post_update(incident, admin, "resolved", "Le disque est remplacé.")
    db.session.refresh(report)
    db.session.refresh(duplicate)
    for member, thread in ((bea, report), (carl, duplicate), (author, report)):
        news = [(kind, post) for kind, post in told(member) if kind.startswith("incident")]
        assert [kind for kind, _post in news] == ["incident_updated", "incident_resolved"]
        assert news[-1][1] == thread.last_post_id  # the resolution relayed in their thread
    assert told(admin) == []  # nobody hears of their own update


def test_a_member_affected_through_a_thread_now_out_of_sight_hears_nothing(app):
    author, admin, moderator = make_user(), make_user(role="admin"), make_user(role="moderator")
    report = make_thread(author=author)
    incident = promote(report, admin)
    forum.move(report, make_board(visibility="staff"), moderator)
    post_update(incident, admin, "identified", "Trouvé.")
    assert [kind for kind, _post in told(author)] == ["promoted"]
