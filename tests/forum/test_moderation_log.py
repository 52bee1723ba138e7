"""The moderation log reads as sentences in the reader's language, links what the reader may
open, filters by action and by actor without JavaScript, and stays paginated."""

import html
import re
from pathlib import Path

import pytest

from board.accounts import services as accounts
from board.extensions import db
from board.forum import moderation
from board.forum import services as forum
from board.lists import services as lists
from board.travaux import services as travaux
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import make_service

TAGS = re.compile(r"<[^>]+>")


def text_of(response) -> str:
    """What a reader sees of the log's entries: their text, without tags or entities."""
    page = response.get_data(as_text=True)
    entries = page.partition('<ol class="log-entries">')[2].partition("</ol>")[0]
    return html.unescape(re.sub(r"\s+", " ", TAGS.sub(" ", entries)))


@pytest.fixture
def history(app):
    """Luc the admin hides a message, moves a thread, rejects a held list message, promotes
    a report and makes Zoé a moderator; Marc the moderator locks a thread."""
    luc = make_user(role="admin", name="Luc")
    marc = make_user(role="moderator", name="Marc")
    zoe = make_user(name="Zoé")
    web = make_board(slug="web", name="Hébergement web")
    mail = make_board(slug="mail", name="Messagerie")
    thread = make_thread(board=web, title="Titre")
    reply = forum.reply(thread, zoe, "Une réponse")
    forum.hide_post(reply, luc)
    forum.move(thread, mail, luc)
    [held] = lists.hold_mail([lists.get_list("informations")], "x@example.org",
                             "Promo <b>!</b>", "Achetez.")
    with site_context():
        lists.reject(held, luc, "hors sujet")
    forum.lock(make_thread(board=web, title="Fermé"), marc)
    service = make_service("dns", "DNS")
    with site_context():
        incident = travaux.promote(make_thread(board=web, title="DNS en panne"), luc,
                                   kind="incident", title="Panne DNS", impact="major",
                                   services=[service], message="On regarde.")
    accounts.set_role(zoe, "moderator", luc)
    db.session.commit()
    return {"luc": luc, "marc": marc, "zoe": zoe, "thread": thread, "reply": reply,
            "incident": incident, "service": service}


def as_staff(client, user):
    assert client.login(user.email).status_code == 302


def test_the_log_tells_each_action_in_french(client, history):
    as_staff(client, history["luc"])
    response = client.get("/moderation")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    reply = history["reply"]
    assert (f'<strong>Luc</strong> a masqué un message dans '
            f'<a href="/posts/{reply.id}">« Titre »</a>') in page
    seen = text_of(response)
    for sentence in ("Luc a déplacé le sujet « Titre » de « web » vers « mail »",
                     "Luc a refusé le message « Promo <b>!</b> » sur la liste Informations",
                     "Marc a verrouillé le sujet « Fermé »",
                     "Luc a fait du sujet « DNS en panne » l'incident « Panne DNS »",
                     "Luc a changé le rôle de Zoé : Membre → Modérateur"):
        assert sentence in seen, sentence
    incident = history["incident"]
    assert f'<a href="/travaux/incidents/{incident.id}">« Panne DNS »</a>' in page
    for code in ("post.hide", "list.reject", "thread.move", "incident.promote", "source:"):
        assert code not in seen, code


def test_the_log_tells_each_action_in_english(client, history):
    as_staff(client, history["luc"])
    seen = text_of(client.get("/moderation", headers={"Accept-Language": "en"}))
    for sentence in ("Luc hid a message in “Titre”", "Marc locked the thread “Fermé”",
                     "Luc moved the thread “Titre” from “web” to “mail”",
                     "Luc changed the role of Zoé from Member to Moderator"):
        assert sentence in seen, sentence


def test_a_service_is_linked_for_admins_only(client, history):
    with site_context():
        service = travaux.save_service(None, history["luc"], slug="smtp", name="SMTP",
                                       description="", position=0)
    edit = f'<a href="/travaux/services/{service.id}">« SMTP »</a>'
    as_staff(client, history["marc"])
    page = client.get("/moderation?action=service.create").get_data(as_text=True)
    assert "a créé le service « SMTP »" in page and edit not in page
    client.logout()
    as_staff(client, history["luc"])
    assert edit in client.get("/moderation?action=service.create").get_data(as_text=True)


def test_the_log_filters_by_action_and_by_actor(client, history):
    as_staff(client, history["marc"])
    by_action = text_of(client.get("/moderation?action=thread.lock"))
    assert "Marc a verrouillé le sujet « Fermé »" in by_action
    assert "a masqué" not in by_action and "a déplacé" not in by_action
    by_actor = text_of(client.get(f"/moderation?actor={history['marc'].id}"))
    assert "Marc a verrouillé" in by_actor and "Luc " not in by_actor
    luc_hides = client.get(f"/moderation?action=post.hide&actor={history['luc'].id}")
    page = luc_hides.get_data(as_text=True)
    assert "a masqué un message" in page and "a verrouillé" not in page
    # The form shows the filters in force, and works without JavaScript (a GET form).
    assert '<form method="get" action="/moderation"' in page
    assert '<option value="post.hide" selected>Message masqué</option>' in page
    assert f'<option value="{history["luc"].id}" selected>Luc</option>' in page
    nothing = text_of(client.get(f"/moderation?action=thread.pin&actor={history['zoe'].id}"))
    assert "Aucune action ne correspond à ces filtres." in nothing
    # Nonsense in the address is an empty result or a clean 4xx (a NUL byte), never a 500.
    for query in ("action=%00", "actor=abc", "actor=99999999999999999999", "page=x"):
        assert client.get(f"/moderation?{query}").status_code in (200, 400, 404), query


def test_the_filtered_log_stays_paginated(client, history):
    thread = history["thread"]
    marc = history["marc"]
    for _ in range(30):
        forum.lock(thread, marc, True)
        forum.lock(thread, marc, False)
    as_staff(client, marc)
    first = client.get(f"/moderation?actor={marc.id}").get_data(as_text=True)
    assert first.count("<li><span class=\"log-sentence\">") == 50
    assert f'href="/moderation?page=2&amp;actor={marc.id}" rel="next"' in first
    second = client.get(f"/moderation?page=2&actor={marc.id}").get_data(as_text=True)
    assert second.count("<li><span class=\"log-sentence\">") == 11


def test_every_action_the_code_records_has_a_sentence():
    board = Path(__file__).resolve().parents[2] / "board"
    source = "\n".join(p.read_text() for p in board.rglob("*.py"))
    calls = re.findall(r"record\(\w+, ([^\n]+)", source)
    recorded = {code for call in calls for code in re.findall(r'(?<!f)"([a-z_]+\.[a-z_]+)"', call)}
    assert {"thread.unpin", "list.reject", "incident.open", "token.revoke"} <= recorded
    assert recorded <= set(moderation.ACTIONS), recorded - set(moderation.ACTIONS)


def test_the_log_costs_the_same_queries_for_few_or_many_actions(client, history):
    from tests.conftest import count_queries

    as_staff(client, history["luc"])
    client.get("/moderation")  # the banner, drawn once per change of Travaux
    with count_queries() as few:
        client.get("/moderation")
    for n in range(20):
        forum.lock(make_thread(title=f"Sujet {n}"), history["marc"])
    with count_queries() as many:
        client.get("/moderation")
    assert len(many) == len(few), many


def test_templates_and_webhooks_are_named_and_linked_for_admins_only(app, client, history,
                                                                     monkeypatch):
    from board.travaux.incident_templates import save_template
    from board.travaux.webhooks import save_endpoint

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    template = save_template(None, history["luc"], name="Panne DNS", title="DNS en panne",
                             message="Nous regardons.", status="investigating",
                             impact="major", services=[])
    endpoint, _secret = save_endpoint(None, history["luc"], url="http://127.0.0.1:9/hook",
                                      description="", secret=None, event_types=["incident.opened"],
                                      services=[], staff_only=False, enabled=True)
    links = [f'<a href="/admin/templates/{template.id}">« Panne DNS »</a>',
             f'<a href="/admin/webhooks/{endpoint.id}">« http://127.0.0.1:9/hook »</a>']
    as_staff(client, history["marc"])
    page = client.get("/moderation").get_data(as_text=True)
    assert "« Panne DNS »" in page and "« http://127.0.0.1:9/hook »" in page
    assert not [link for link in links if link in page]
    client.logout()
    as_staff(client, history["luc"])
    page = client.get("/moderation").get_data(as_text=True)
    assert [link for link in links if link in page] == links
