"""Travaux's feeds: every incident and maintenance (or one service's), the updates of one
incident, the old feed.php addresses, the list of feeds and its OPML, as feed readers see
them (tests/feedtools.py reads them, tests/feedsite.py tells the site)."""

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from board.clock import travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Thread
from board.travaux.models import Incident, IncidentUpdate
from tests.factories import make_user
from tests.feedsite import obj, thread_link
from tests.feedtools import (
    BASE,
    FORMATS,
    TYPES,
    assert_changed,
    etags,
    hrefs,
    read,
    same_time,
    tag,
    with_format,
)
from tests.travaux.factories import make_service, post_update

# The right items ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_travaux_feeds_list_incidents_and_maintenance_with_their_state(client, site, fmt):
    everything = read(client, "/travaux/feed", fmt)
    assert everything.titles == ["[Programmée] Mise à jour de PHP",
                                 "[Identifié] Lenteurs de la messagerie"]
    assert everything.ids == [tag(f"incident-{site.maintenance}"),
                              tag(f"incident-{site.incident}")]
    assert [e.link for e in everything.entries] == [
        f"{BASE}/travaux/incidents/{site.maintenance}", f"{BASE}/travaux/incidents/{site.incident}"]
    assert everything.page_url == f"{BASE}/travaux/"
    incident = obj(Incident, site.incident)
    entry = everything.entry(f"incident-{site.incident}")
    assert same_time(fmt, entry.published, incident.created_at)
    if fmt == "atom":
        assert entry.updated == incident.updated_at
    assert entry.author == "Équipe technique"
    assert "Un serveur est saturé." in entry.html

    mail = read(client, "/travaux/feed?service=mail", fmt)
    assert mail.titles == ["[Identifié] Lenteurs de la messagerie"]
    web = read(client, "/travaux/feed?service=web", fmt)
    assert web.titles == ["[Programmée] Mise à jour de PHP"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_incident_feed_lists_its_updates_with_permalinks(client, site, fmt):
    feed = read(client, f"/travaux/incidents/{site.incident}/feed", fmt)
    assert feed.titles == ["[Identifié] Lenteurs de la messagerie",
                           "[Recherche en cours] Lenteurs de la messagerie"]
    assert feed.ids == [tag(f"update-{site.identified}"),
                        tag(f"update-{site.opening}")]
    assert [e.link for e in feed.entries] == [
        f"{BASE}/travaux/incidents/{site.incident}#update-{i}"
        for i in (site.identified, site.opening)]
    for entry, update_id in zip(feed.entries, (site.identified, site.opening), strict=True):
        assert same_time(fmt, entry.published, obj(IncidentUpdate, update_id).created_at)
    assert "Un serveur est saturé." in feed.entries[0].html
    assert "Nous enquêtons." in feed.entries[1].html
    assert feed.page_url == f"{BASE}/travaux/incidents/{site.incident}"
    # The anchors exist on the incident's page.
    page = client.get(f"/travaux/incidents/{site.incident}")
    for update_id in (site.identified, site.opening):
        assert f'id="update-{update_id}"'.encode() in page.data


@pytest.mark.parametrize("fmt", FORMATS)
def test_maintenance_is_dated_by_its_publication_not_its_window(client, site, fmt):
    maintenance = obj(Incident, site.maintenance)
    for path in ("/travaux/feed", f"/travaux/incidents/{site.maintenance}/feed"):
        feed = read(client, path, fmt)
        entry = feed.entries[0]
        assert entry.title == "[Programmée] Mise à jour de PHP"
        assert same_time(fmt, entry.published, maintenance.created_at)
        assert entry.published < maintenance.window_start - timedelta(days=6)
        if fmt == "atom":
            assert entry.updated < maintenance.window_start - timedelta(days=6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_incident_update_keeps_the_item_id_and_changes_its_title(client, site, fmt):
    before = read(client, "/travaux/feed", fmt)
    old = before.entry(f"incident-{site.incident}")
    with travel(timedelta(hours=2)):
        resolved = post_update(obj(Incident, site.incident), obj(Incident, site.incident).author,
                               "resolved", "Tout est rentré dans l'ordre.")
    after = read(client, "/travaux/feed", fmt)
    assert after.ids == before.ids
    entry = after.entry(f"incident-{site.incident}")
    assert entry.title == "[Résolu] Lenteurs de la messagerie"
    assert entry.published == old.published
    assert "Tout est rentré dans l'ordre." in entry.html
    assert "resolved" in entry.categories or "Résolu" in entry.labels
    if fmt == "atom":
        assert entry.updated == obj(IncidentUpdate, resolved.id).created_at > old.updated
    # The incident's own feed gains an item; the earlier ones keep their ids and titles.
    feed = read(client, f"/travaux/incidents/{site.incident}/feed", fmt)
    assert feed.ids == [tag(f"update-{i}")
                        for i in (resolved.id, site.identified, site.opening)]
    assert feed.titles == ["[Résolu] Lenteurs de la messagerie",
                           "[Identifié] Lenteurs de la messagerie",
                           "[Recherche en cours] Lenteurs de la messagerie"]
    assert feed.entries[0].link == f"{BASE}/travaux/incidents/{site.incident}#update-{resolved.id}"


# What the items say -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_categories_name_kinds_states_and_services(client, site, fmt):
    travaux_feed = read(client, "/travaux/feed", fmt)
    incident = travaux_feed.entry(f"incident-{site.incident}")
    maintenance = travaux_feed.entry(f"incident-{site.maintenance}")
    assert incident.labels == ["incident", "Identifié", "Messagerie"]
    assert maintenance.labels == ["maintenance", "Programmée", "Hébergement web"]
    if fmt == "atom":
        assert incident.categories == ["incident", "identified", "mail"]
        assert maintenance.categories == ["maintenance", "scheduled", "web"]
    updates = read(client, f"/travaux/incidents/{site.incident}/feed", fmt)
    assert [e.labels[1] for e in updates.entries] == ["Identifié", "Recherche en cours"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_incident_authors_are_names(client, site, fmt):
    travaux_feed = read(client, "/travaux/feed", fmt)
    assert {e.author for e in travaux_feed.entries} == {"Équipe technique"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_incident_items_link_their_public_community_threads(client, site, fmt):
    public = {thread_link(site.discussion, "lenteurs-de-la-messagerie"),
              thread_link(site.report, site.report_slug)}
    forum.hide_thread(obj(Thread, site.report), obj(Incident, site.incident).author)
    public.discard(thread_link(site.report, site.report_slug))
    for path in ("/travaux/feed?service=mail", f"/travaux/incidents/{site.incident}/feed"):
        feed = read(client, path, fmt)
        for entry in feed.entries:
            linked = {h for h in hrefs(entry.html) if "/threads/" in h}
            assert linked == public, (path, linked)
            # Never the staff-only note nor the hidden report, not even as text.
            assert f"/threads/{site.secret}/" not in entry.html
            assert f"/threads/{site.report}/" not in entry.html


def test_travaux_feed_text_is_in_french(client, site):
    incident = read(client, "/travaux/feed", "atom").entry(f"incident-{site.incident}")
    assert incident.title == "[Identifié] Lenteurs de la messagerie"
    assert "Sujets de la communauté\u00a0:" in incident.html


# Changes and validators ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_hiding_a_linked_thread_invalidates_the_incident_feeds(client, site, fmt):
    paths = ["/travaux/feed", f"/travaux/incidents/{site.incident}/feed"]
    before = etags(client, paths, fmt)
    with travel(timedelta(minutes=30)):
        forum.hide_thread(obj(Thread, site.report), make_user(role="moderator"))
    assert_changed(client, before, fmt)


# Old addresses, the list of feeds, OPML -----------------------------------------------------

@pytest.mark.parametrize("query, target", [
    ("feed_type=rss2&project=0", "/travaux/feed.rss"),
    ("feed_type=rss2&project=7", "/travaux/feed.rss?service=mail"),
    ("feed_type=rss2&project=12", "/travaux/feed.rss?service=web"),
    ("project=7", "/travaux/feed.rss?service=mail"),
    ("feed_type=rss2&project=999", "/travaux/feed.rss"),
    ("feed_type=rss1&project=0", "/travaux/feed.rss"),
    ("feed_type=rss1&project=12", "/travaux/feed.rss?service=web"),
    ("feed_type=atom&project=0", "/travaux/feed.atom"),
    ("feed_type=atom&project=7", "/travaux/feed.atom?service=mail"),
    ("feed_type=atom&project=999", "/travaux/feed.atom"),
    ("", "/travaux/feed.rss"),
    ("feed_type=rss2&project=abc", "/travaux/feed.rss"),
    ("feed_type=rss2&project=-7", "/travaux/feed.rss"),
    ("feed_type=rss2&project=%C2%B2", "/travaux/feed.rss"),  # "²" is a digit to str.isdigit
    ("feed_type=rss2&project=99999999999999999999", "/travaux/feed.rss"),
])
def test_old_feed_addresses_redirect_for_good(client, app, query, target):
    for slug, name, legacy_id in (("web", "Hébergement web", 12), ("mail", "Messagerie", 7)):
        make_service(slug, name).legacy_id = legacy_id
    db.session.commit()
    response = client.get(f"/feed.php?{query}" if query else "/feed.php")
    assert response.status_code == 301
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "board.test", "localhost")
    assert location.path + (f"?{location.query}" if location.query else "") == target
    followed = client.get(target)
    assert followed.status_code == 200
    assert followed.headers["Content-Type"] == TYPES[target.split(".")[1].split("?")[0]]


def test_feeds_page_lists_every_public_feed(client, site):
    response = client.get("/feeds")
    assert response.status_code == 200
    page = response.data.decode()
    for path in ("/feed", "/boards/general/feed", "/boards/travaux/feed", "/travaux/feed",
                 "/travaux/feed?service=web", "/travaux/feed?service=mail"):
        for fmt in FORMATS:
            assert f'href="{with_format(path, fmt)}"' in page, path
    assert "Hébergement web" in page and "Messagerie" in page
    assert "equipe" not in page


def test_opml_lists_every_public_board_and_service_with_absolute_urls(client, site):
    response = client.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/x-opml")
    root = ET.fromstring(response.data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    feeds = root.findall(".//outline[@xmlUrl]")
    urls = [o.get("xmlUrl") for o in feeds]
    assert sorted(urls) == sorted(BASE + with_format(p, "rss") for p in (
        "/feed", "/boards/general/feed", "/boards/travaux/feed", "/travaux/feed",
        "/travaux/feed?service=web", "/travaux/feed?service=mail"))
    assert len(set(urls)) == len(urls)
    for outline in feeds:
        assert outline.get("type") == "rss"
        assert outline.get("text") and outline.get("htmlUrl").startswith(BASE + "/")
    texts = [o.get("text") for o in feeds]
    assert any("Questions & réponses" in t for t in texts)  # escaped, and read back whole
    assert any("Messagerie" in t for t in texts) and any("Hébergement web" in t for t in texts)
    # Every address answers, as a feed.
    for url in urls:
        parts = urlsplit(url)
        read(client, parts.path.removesuffix(".rss") + (f"?{parts.query}" if parts.query
                                                        else ""), "rss")
