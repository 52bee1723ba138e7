"""Postmortems: an admin writes one on a resolved incident (the draft kept on the server, a
preview through the same pipeline), publishes it once: on the incident page, as an official
post in every linked thread, in the incident's and Travaux feeds, to the events listeners,
and mailed once per person concerned (through the outbox and a real SMTP server). Action
items move on after publication, each change dated."""

import re
from datetime import timedelta

import feedparser
import pytest
from sqlalchemy import func, select

from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post, Thread
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux import events, postmortems
from board.travaux.postmortem_models import ActionItem, Postmortem
from board.travaux.services import TravauxError
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.outbox.conftest import _smtp_server, clock, smtp_server  # noqa: F401 - fixtures
from tests.travaux.factories import link_thread, make_incident, post_update
from tests.travaux.receivers import receiver_fixture  # noqa: F401 - a pytest fixture

BODY = "Un **disque** a lâché.\n\n<script>alert(1)</script>\n\n- cause\n- remède"


@pytest.fixture
def heard(app):
    told = []
    events.add_listener(app, lambda e: told.append((e.type, e.incident.id, dict(e.data))),
                        domain="tests")
    yield told
    events.listeners(app).pop()


@pytest.fixture
def resolved(app):
    """A resolved incident with two linked threads: a member's report (two "me too") and
    the discussion thread."""
    admin = make_user(role="admin", name="Camille (équipe)")
    reporter, affected, watcher = make_user(), make_user(), make_user()
    board = make_board()
    report = make_thread(board=board, author=reporter, title="Mes mails partent en retard")
    forum.mark_affected(report, affected)
    incident = make_incident(admin, title="Messagerie : envois retardés")
    link_thread(incident, report, admin)
    forum.set_watching(incident.source_thread, watcher, True)
    # The affected member watches both threads: still one mail.
    forum.set_watching(incident.source_thread, affected, True)
    post_update(incident, admin, "resolved", "Tout est reparti.")
    return {"admin": admin, "incident": incident, "report": report, "reporter": reporter,
            "affected": affected, "watcher": watcher}


def editor(incident):
    return f"/travaux/incidents/{incident.id}/postmortem"


def test_only_admins_reach_the_editor(client, login_as, resolved):
    path = editor(resolved["incident"])
    assert client.get(path).status_code == 302  # to the login page
    login_as("moderator")
    assert client.get(path).status_code == 403
    assert client.form(path + "/draft", {"body": "x"}).status_code == 403


def test_the_draft_is_kept_on_the_server_and_restored(client, resolved):
    client.login(resolved["admin"].email)
    path = editor(resolved["incident"])
    answer = client.form(path + "/draft", {"body": "Premier jet"})
    assert answer.status_code == 200 and "saved_at" in answer.json
    assert "Premier jet" in client.get(path).get_data(as_text=True)
    # Without JavaScript: the form's own "Save draft".
    saved = client.form(path, {"body": "Second jet", "submit": "save"})
    assert saved.status_code == 302
    assert "Second jet" in client.get(path).get_data(as_text=True)
    # A draft is nobody else's business.
    page = client.get(f"/travaux/incidents/{resolved['incident'].id}").get_data(as_text=True)
    assert "brouillon" in page
    client.logout()
    guest = client.get(f"/travaux/incidents/{resolved['incident'].id}").get_data(as_text=True)
    assert "Second jet" not in guest and 'id="postmortem"' not in guest


def test_a_draft_without_the_csrf_token_is_refused(client, resolved):
    client.login(resolved["admin"].email)
    answer = client.post(editor(resolved["incident"]) + "/draft", data={"body": "x"})
    assert answer.status_code == 400
    assert db.session.scalar(select(func.count(Postmortem.id))) == 0


def test_the_preview_uses_the_markup_pipeline(client, resolved):
    client.login(resolved["admin"].email)
    html = client.form(editor(resolved["incident"]) + "/preview", {"body": BODY})
    text = html.get_data(as_text=True)
    assert "<strong>disque</strong>" in text and "<li>cause</li>" in text
    assert "<script>" not in text
    # Without JavaScript, the "Preview" button shows it in the page, the text kept.
    page = client.form(editor(resolved["incident"]), {"body": BODY, "submit": "preview"})
    assert "<strong>disque</strong>" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Postmortem.id))) == 0


def test_an_open_incident_or_a_maintenance_has_no_postmortem(client, app):
    admin = make_user(role="admin")
    client.login(admin.email)
    for incident in (make_incident(admin), make_incident(admin, kind="maintenance")):
        answer = client.form(editor(incident), {"body": "x", "submit": "save"})
        assert answer.status_code == 422
        assert "Seul un incident résolu" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Postmortem.id))) == 0


def test_publishing_posts_it_in_every_thread_page_feeds_and_events(client, resolved, heard):
    incident, admin = resolved["incident"], resolved["admin"]
    client.login(admin.email)
    client.form(editor(incident) + "/actions", {"text": "Surveiller la file", "status": "planned"})
    answer = client.form(editor(incident), {"body": BODY, "submit": "publish"})
    assert answer.status_code == 302
    assert ("incident.postmortem", incident.id) in [(t, i) for t, i, _ in heard]
    threads = db.session.scalars(select(Thread).where(Thread.incident_id == incident.id)).all()
    assert len(threads) == 2
    for thread in threads:
        last = db.session.scalars(select(Post).where(Post.thread_id == thread.id)
                                  .order_by(Post.id.desc())).first()
        assert last.official and "Post-mortem" in last.body_html
        assert "<strong>disque</strong>" in last.body_html
        assert "Surveiller la file" in last.body_html
        assert "<script>" not in last.body_html
    client.logout()
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert 'id="postmortem"' in page and "<strong>disque</strong>" in page
    assert "Surveiller la file" in page and "Prévu" in page
    for path in (f"/travaux/incidents/{incident.id}/feed.atom", "/travaux/feed.rss"):
        feed = feedparser.parse(client.get(path).data)
        [item] = [e for e in feed.entries if e.title.startswith("Post-mortem")]
        assert "Messagerie : envois retardés" in item.title
        assert item.link.endswith(f"/travaux/incidents/{incident.id}#postmortem")
        assert "<strong>disque</strong>" in item.summary


def test_published_once_and_its_text_frozen(client, resolved):
    incident, admin = resolved["incident"], resolved["admin"]
    with site_context():
        postmortems.publish(incident, admin, BODY)
        with pytest.raises(TravauxError, match="published"):
            postmortems.publish(incident, admin, "Autre")
    client.login(admin.email)
    answer = client.form(editor(incident) + "/draft", {"body": "Réécrit"})
    assert answer.status_code == 409
    assert db.session.scalar(select(Postmortem.body_source)) == BODY
    posts = db.session.scalar(select(func.count(Post.id)).where(Post.official.is_(True),
                                                                 Post.body_source.like("%disque%")))
    assert posts == 2


def test_an_empty_postmortem_is_not_published(client, resolved):
    client.login(resolved["admin"].email)
    answer = client.form(editor(resolved["incident"]), {"body": "  ", "submit": "publish"})
    assert answer.status_code == 422 and "Rédigez le post-mortem" in answer.get_data(as_text=True)


def test_mailed_once_per_person_concerned(client, resolved, smtp_server):  # noqa: F811
    incident, admin = resolved["incident"], resolved["admin"]
    opted = make_user()
    forum.set_watching(resolved["report"], opted, True)
    postmortems.set_opt_out(opted, True)
    stranger = make_user()  # neither affected nor watching
    digests = select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "watch_digest")
    before = db.session.scalar(digests)
    with site_context():
        postmortems.publish(incident, admin, BODY)
    # The postmortem's own mail tells the watchers: no digest of its post.
    assert db.session.scalar(digests) == before
    deliver_due()
    deliver_due()  # the fan-out queues the mails; they go in the same pass or the next
    to = sorted(smtp_server.recipients())
    expected = sorted([resolved["reporter"].email, resolved["affected"].email,
                       resolved["watcher"].email])
    assert to == expected
    assert opted.email not in to and stranger.email not in to and admin.email not in to
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "Post-mortem\u00a0: Messagerie : envois retardés"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "**disque**" in text and "<strong>disque</strong>" in html
    assert f"http://board.test/travaux/incidents/{incident.id}#postmortem" in text
    # Its link stops them without logging in: a page, then a POST.
    person = next(u for u in (resolved["reporter"], resolved["affected"], resolved["watcher"])
                  if u.email == mail["To"].addresses[0].addr_spec)
    stop = re.search(r"http://board.test(/postmortems/stop/\S+)", text).group(1)
    assert mail["List-Unsubscribe"] == f"<http://board.test{stop}>"
    assert "Ne plus recevoir les post-mortems" in client.get(stop).get_data(as_text=True)
    assert not postmortems.opted_out(person)
    assert client.post(stop).status_code == 400  # no CSRF token
    client.form(stop)
    assert postmortems.opted_out(person)
    assert client.get("/postmortems/stop/forged").status_code == 404


def test_a_member_opts_out_from_the_account_page(client, login_as):
    member = login_as("member")
    page = client.get("/account").get_data(as_text=True)
    assert 'name="postmortem_mail" value="y" checked' in page
    client.form("/account/postmortems", {})
    assert postmortems.opted_out(member)
    assert 'name="postmortem_mail" value="y" checked' not in client.get(
        "/account").get_data(as_text=True)
    client.form("/account/postmortems", {"postmortem_mail": "y"})
    assert not postmortems.opted_out(member)


def test_action_items_move_after_publication_with_their_dates(client, resolved):
    incident, admin = resolved["incident"], resolved["admin"]
    client.login(admin.email)
    client.form(editor(incident) + "/actions", {"text": "Alerter sur la file", "status": "planned"})
    with site_context():
        postmortems.publish(incident, admin, BODY)
    action = db.session.scalar(select(ActionItem))
    with travel(timedelta(days=3)):
        client.form(f"/travaux/postmortem-actions/{action.id}", {"status": "in_progress"})
    with travel(timedelta(days=9)):
        client.form(f"/travaux/postmortem-actions/{action.id}", {"status": "done"})
    db.session.expire_all()
    action = db.session.get(ActionItem, action.id)
    assert [c.status for c in action.changes] == ["planned", "in_progress", "done"]
    assert action.changes[2].changed_at - action.changes[0].changed_at >= timedelta(days=9)
    client.logout()
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert "Fait" in page and "En cours" in page and "Prévu" in page
    # A published action stays: it is marked done, not removed.
    client.login(admin.email)
    client.form(f"/travaux/postmortem-actions/{action.id}/remove")
    assert db.session.get(ActionItem, action.id) is not None
    # A bad status changes nothing and is no 500.
    assert client.form(f"/travaux/postmortem-actions/{action.id}",
                       {"status": "whatever"}).status_code == 400


def test_an_empty_action_gets_a_message(client, resolved):
    client.login(resolved["admin"].email)
    answer = client.form(editor(resolved["incident"]) + "/actions", {"text": " ",
                                                                     "status": "planned"},
                         follow_redirects=True)
    assert "Dites ce qui sera fait" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ActionItem.id))) == 0


def test_the_demo_has_a_published_postmortem_in_its_threads_and_a_no(app, client, runner):
    from board.travaux.models import Incident

    assert runner.invoke(args=["demo"]).exit_code == 0
    postmortem = db.session.scalar(select(Postmortem))
    assert postmortem.is_published
    incident = db.session.get(Incident, postmortem.incident_id)
    threads = db.session.scalars(select(Thread).where(Thread.incident_id == incident.id)).all()
    assert len(threads) == 2
    for thread in threads:
        page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
        assert "Post-mortem" in page and "supervision" in page
    client.login("admin@exemple.org", "admin-demo-2026")
    page = client.get(f"/travaux/incidents/{incident.id}").get_data(as_text=True)
    assert 'class="fixed-no">1<' in page and 'class="fixed-yes">2<' in page


def test_the_static_site_carries_the_postmortem(app, resolved, tmp_path, monkeypatch):
    from board.travaux.export import export

    monkeypatch.setitem(app.config, "TRAVAUX_PUBLIC_URL", "https://etat.example.org")
    incident = resolved["incident"]
    with site_context():
        postmortems.add_action(incident, resolved["admin"], "Surveiller la file")
        postmortems.publish(incident, resolved["admin"], BODY)
    export(tmp_path / "site")
    page = (tmp_path / "site" / "incidents" / f"{incident.id}.html").read_text(encoding="utf-8")
    assert 'id="postmortem"' in page and "<strong>disque</strong>" in page
    assert "Surveiller la file" in page and "/postmortem" not in page  # no editor link
    feed = feedparser.parse((tmp_path / "site" / "feed.atom").read_bytes())
    [item] = [e for e in feed.entries if e.title.startswith("Post-mortem")]
    assert item.link == f"https://etat.example.org/incidents/{incident.id}.html#postmortem"


def test_a_webhook_hears_the_publication(app, resolved, receiver, monkeypatch):
    from tests.travaux.test_webhooks import SECRET, deliver, endpoint, verify

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    endpoint(receiver.url + "/hooks", types=["incident.postmortem"])
    incident = resolved["incident"]
    with site_context():
        postmortems.publish(incident, resolved["admin"], BODY)
    deliver()
    [request] = receiver.wait_for(1)
    assert verify(SECRET, request.headers, request.body)
    document = request.json()
    assert document["type"] == "incident.postmortem"
    assert document["data"]["incident"]["id"] == incident.id
    assert document["data"]["postmortem_url"] == \
        f"http://board.test/travaux/incidents/{incident.id}#postmortem"


@pytest.mark.parametrize("who", ["guest", "admin"])
def test_the_incident_page_costs_the_same_for_few_and_many_actions(client, resolved, who):
    from tests.travaux.test_queries import queries_for

    incident, admin = resolved["incident"], resolved["admin"]
    with site_context():
        postmortems.add_action(incident, admin, "Une")
        postmortems.publish(incident, admin, BODY)
    if who == "admin":
        client.login(admin.email)
    path = f"/travaux/incidents/{incident.id}"
    few = queries_for(client, path)
    for n in range(15):
        action = postmortems.add_action(incident, admin, f"Action {n}")
        postmortems.change_action(action, admin, "done")
    assert queries_for(client, path) == few


def test_the_next_digest_does_not_bring_the_postmortem_again(app, resolved, smtp_server,  # noqa: F811
                                                             clock):  # noqa: F811
    incident, admin, watcher = resolved["incident"], resolved["admin"], resolved["watcher"]
    clock.advance(seconds=app.config["WATCH_DIGEST_SECONDS"] + 1)
    deliver_due()  # the resolution's digests
    with site_context():
        postmortems.publish(incident, admin, BODY)
    deliver_due()
    deliver_due()
    smtp_server.reset()
    forum.reply(incident.source_thread, admin, "Merci à tous pour vos signalements.")
    clock.advance(seconds=2 * app.config["WATCH_DIGEST_SECONDS"] + 2)
    deliver_due()
    [digest] = [m for m in smtp_server.messages
                if m["To"].addresses[0].addr_spec == watcher.email]
    text = digest.get_body(("plain",)).get_content()
    assert "Merci à tous" in text and "disque" not in text


def test_the_autosave_is_rate_limited(client, resolved):
    client.login(resolved["admin"].email)
    path = editor(resolved["incident"]) + "/draft"
    codes = [client.form(path, {"body": f"Jet {n}"}).status_code for n in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429


def test_the_travaux_feed_costs_the_same_for_one_and_many_postmortems(client, resolved):
    from tests.travaux.test_queries import queries_for

    admin = resolved["admin"]

    def published(incident):
        with site_context():
            postmortems.add_action(incident, admin, "Une action")
            postmortems.publish(incident, admin, BODY)

    published(resolved["incident"])
    one = queries_for(client, "/travaux/feed.atom")
    for _ in range(6):
        incident = make_incident(admin)
        post_update(incident, admin, "resolved", "Fini.")
        published(incident)
    assert queries_for(client, "/travaux/feed.atom") == one
    assert len(feedparser.parse(client.get("/travaux/feed.atom").data).entries) == 14
