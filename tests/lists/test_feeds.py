"""The lists' archives and their feeds: only what was sent, in RSS and Atom, with the
validators of every feed (tests/feedtools.py reads them)."""

from datetime import timedelta

import feedparser
import pytest

from board.clock import travel
from board.lists import services as lists
from board.outbox.services import deliver_due
from tests.factories import make_user
from tests.feedtools import BASE, FORMATS, read, tag, with_format


def send(slug: str, author, subject: str, body: str):
    """Compose, approve and fan out a message (no SMTP_URL: it is marked sent at once)."""
    message = lists.compose(lists.get_list(slug), author, subject, body)
    lists.approve(message, author)
    deliver_due()
    return message


def test_the_archive_and_its_feed_show_sent_messages_only(client, login_as):
    admin = login_as("admin")
    mailing_list = lists.get_list("informations")
    sent = [lists.compose(mailing_list, admin, f"Envoyé {n}", f"Texte envoyé {n}")
            for n in (1, 2)]
    for message in sent:
        lists.approve(message, admin)
        deliver_due()  # no SMTP_URL: the (empty) fan-out marks it sent
    held = lists.compose(mailing_list, admin, "Encore retenu", "Texte retenu")
    rejected = lists.compose(mailing_list, admin, "Refusé", "Texte refusé")
    lists.reject(rejected, admin, "Non")
    other_list = lists.compose(lists.get_list("travaux"), admin, "Autre liste", "Texte")
    lists.approve(other_list, admin)
    deliver_due()
    approved = lists.compose(mailing_list, admin, "Approuvé tard", "Texte approuvé")
    lists.approve(approved, admin)  # the worker has not run since
    client.logout()

    page = client.get("/lists/informations/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for message in sent:
        assert message.subject in text
        assert f"/lists/informations/{message.id}" in text
    for subject in ("Encore retenu", "Refusé", "Approuvé tard", "Autre liste"):
        assert subject not in text
    for message in sent:
        assert "Texte envoyé" in client.get(f"/lists/informations/{message.id}").get_data(
            as_text=True)
    for message in (held, rejected, approved, other_list):
        assert client.get(f"/lists/informations/{message.id}").status_code == 404

    response = client.get("/lists/informations/feed.rss")
    assert response.status_code == 200
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version.startswith("rss")
    assert [entry.title for entry in feed.entries] == ["Envoyé 2", "Envoyé 1"]
    assert [entry.link for entry in feed.entries] == [
        f"{BASE}/lists/informations/{m.id}" for m in reversed(sent)]
    assert "Texte envoyé 2" in feed.entries[0].summary
    assert [e.title for e in feedparser.parse(client.get("/lists/travaux/feed.rss").data)
            .entries] == ["Autre liste"]
    assert client.get("/lists/nosuch/feed.rss").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_archive_feed_reads_the_same_in_rss_and_atom(client, app, fmt):
    admin = make_user(role="admin", name="Équipe technique")
    first = send("informations", admin, "Nouvelle offre", "Une offre **nouvelle**.")
    with travel(timedelta(minutes=5)):
        second = send("informations", admin, "Assemblée générale", "Le [programme](/lists/).")
    feed = read(client, "/lists/informations/feed", fmt)  # well formed, or read() fails
    assert feed.ids == [tag(f"list-message-{m.id}") for m in (second, first)]
    assert feed.titles == ["Assemblée générale", "Nouvelle offre"]
    assert [e.link for e in feed.entries] == [
        f"{BASE}/lists/informations/{m.id}" for m in (second, first)]
    assert {e.author for e in feed.entries} == {"Équipe technique"}
    assert "<strong>nouvelle</strong>" in feed.entry(f"list-message-{first.id}").html
    assert f'href="{BASE}/lists/"' in feed.entries[0].html  # made absolute
    assert feed.self_url == BASE + with_format("/lists/informations/feed", fmt)
    assert feed.page_url == f"{BASE}/lists/informations/"
    assert feed.language == "fr"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_archive_feed_answers_304_until_the_next_message(client, app, fmt):
    admin = make_user(role="admin")
    send("informations", admin, "Premier", "Texte.")
    url = with_format("/lists/informations/feed", fmt)
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with travel(timedelta(minutes=5)):
        send("travaux", admin, "Sur l'autre liste", "Texte.")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with travel(timedelta(minutes=10)):
        send("informations", admin, "Second", "Texte.")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert [e.title for e in feedparser.parse(again.data).entries] == ["Second", "Premier"]
