"""The guest page cache (board/pagecache.py): what a guest reads is rendered once per change,
every write shows at once on the pages it changes and leaves the others in the cache, and
nothing of a member's ever reaches a guest."""

import os
import secrets

import pytest
from sqlalchemy import select

from board import create_app, pagecache
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post
from board.travaux import services as travaux
from board.travaux.models import Service
from board.urls import site_context
from tests.conftest import TEST_CONFIG, count_queries
from tests.factories import make_board, make_thread, make_user


def get(client, path, **kwargs):
    response = client.get(path, **kwargs)
    return response, response.get_data(as_text=True)


class Site:
    """Two boards (a1 and a2 in the first, b1 in the second), an ongoing incident on a
    service, and every page a guest reads, warmed in the cache."""

    def __init__(self):
        self.admin = make_user(role="admin", name="Alice Admin")
        self.member = make_user(name="Marc Membre")
        self.a, self.b = make_board(name="Hébergement"), make_board(name="Messagerie")
        self.a1 = make_thread(board=self.a, author=self.member, title="Site lent depuis ce matin")
        self.a2 = make_thread(board=self.a, author=self.member, title="Erreur 502 sur mon site")
        self.b1 = make_thread(board=self.b, author=self.member, title="Courriels en retard")
        self.service = Service(slug="web", name="Hébergement web")
        db.session.add(self.service)
        db.session.commit()
        with site_context():
            self.incident = travaux.open_incident(
                self.admin, kind="incident", title="Lenteurs du stockage", impact="minor",
                services=[self.service], message="Nous regardons.")

    def paths(self) -> dict[str, str]:
        return {
            "index": "/", "board a": f"/boards/{self.a.slug}", "board b": f"/boards/{self.b.slug}",
            "a1": self.thread_path(self.a1), "a2": self.thread_path(self.a2),
            "b1": self.thread_path(self.b1), "travaux": "/travaux/",
            "incident": f"/travaux/incidents/{self.incident.id}", "embed": "/travaux/embed",
            "site feed": "/feed.rss", "board a feed": f"/boards/{self.a.slug}/feed.rss",
            "a1 feed": f"/threads/{self.a1.id}/feed.rss", "travaux feed": "/travaux/feed.rss",
        }

    @staticmethod
    def thread_path(thread) -> str:
        return f"/threads/{thread.id}/{thread.slug}"


@pytest.fixture
def site(app):
    return Site()


def warm(client, paths):
    for path in paths:
        assert client.get(path).status_code == 200, path
        assert client.get(path).headers["X-Cache"] == "hit", path


def test_every_guest_page_comes_from_the_cache_the_second_time(client, site):
    for name, path in site.paths().items():
        first, body = get(client, path)
        assert first.status_code == 200, name
        assert first.headers["X-Cache"] == "miss", name
        assert first.headers.getlist("Set-Cookie") == [], f"{name} sets a cookie for a guest"
        assert "public" in first.headers["Cache-Control"], name
        assert first.headers["ETag"] and first.headers["Last-Modified"], name
        assert "Cookie" in first.headers["Vary"] and "Accept-Language" in first.headers["Vary"]
        with count_queries() as statements:
            again, same = get(client, path)
        assert again.headers["X-Cache"] == "hit" and same == body, name
        assert len(statements) == 1, f"{name}: a hit costs its stamp alone, {statements}"
        assert again.headers.getlist("Set-Cookie") == [], name
        assert again.headers["Content-Security-Policy"], f"{name}: a hit lost its headers"
        assert again.headers["Content-Type"] == first.headers["Content-Type"], name


def test_guest_pages_default_to_thirty_seconds_for_proxies(client, site):
    response = client.get(site.paths()["a1"])
    assert response.cache_control.max_age == 30
    assert response.cache_control.public


def test_a_guest_asking_again_gets_a_304_and_a_changed_page_a_200(client, site):
    path = site.paths()["a1"]
    first = client.get(path)
    etag = first.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    modified = first.headers["Last-Modified"]
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    forum.reply(site.a1, site.member, "Chez moi aussi, depuis 9 h.")
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Chez moi aussi" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_a_worker_asked_only_for_304s_renders_the_page_once(client, site):
    """Each worker has its own store: the one a feed reader or a proxy only revalidates with
    must keep the page the first time, not render it at every 304."""
    path = site.paths()["a1"]
    etag = client.get(path).headers["ETag"]
    pagecache.store().clear()  # as a second worker sees it: never asked without conditions
    first = client.get(path, headers={"If-None-Match": etag})
    assert first.status_code == 304 and first.headers["X-Cache"] == "miss"
    assert first.get_data() == b"" and first.headers["ETag"] == etag
    with count_queries() as statements:
        again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["X-Cache"] == "hit"
    assert len(statements) == 1, statements
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and "Site lent depuis ce matin" in other.get_data(as_text=True)


# A write of each kind: the pages it changes show it at once; the others stay in the cache.

def _reply(site):
    forum.reply(site.a1, site.member, "Même souci ici, depuis 9 h.")
    return {"a1": "Même souci ici", "a1 feed": "Même souci ici", "board a": None,
            "index": None, "site feed": None}, ["a2", "b1", "board b", "travaux", "incident"]


def _edit(site):
    first = db.session.scalar(select(Post).where(Post.thread_id == site.a2.id))
    forum.edit_post(first, site.member, "Erreur 502 *seulement* sur le sous-domaine.")
    return {"a2": "seulement"}, ["a1", "b1", "board b", "travaux", "incident"]


def _hide_thread(site):
    forum.hide_thread(site.a2, site.admin)
    return {"board a": ("Erreur 502 sur mon site", False)}, ["a1", "b1", "board b", "travaux"]


def _move(site):
    forum.move(site.a2, site.b, site.admin)
    return {"board b": "Erreur 502 sur mon site",
            "board a": ("Erreur 502 sur mon site", False)}, ["a1", "b1", "travaux", "incident"]


def _lock(site):
    forum.lock(site.a1, site.admin)
    return {"a1": "Verrouillé"}, ["a2", "b1", "board b", "travaux", "incident"]


def _affected(site):
    forum.mark_affected(site.a1, make_user())
    return {"a1": "2 membres concernés"}, ["a2", "b1", "board b", "travaux", "incident"]


def _promote(site):
    with site_context():
        travaux.promote(site.b1, site.admin, kind="incident", title="Courriels retardés",
                        impact="major", services=[site.service], message="File d'attente pleine.")
    return {"travaux": "Courriels retardés", "b1": "File d'attente pleine", "a1": None}, []


def _incident_update(site):
    with site_context():
        travaux.post_update(site.incident, site.admin, "identified", "Un disque est en cause.")
    return {"incident": "Un disque est en cause", "travaux": None, "a2": "Un disque est en cause",
            "travaux feed": "Un disque est en cause"}, []


def _service_renamed(site):
    travaux.save_service(site.service, site.admin, slug="web", name="Sites et PHP",
                         description="", position=0, legacy_id=None)
    return {"travaux": "Sites et PHP", "incident": "Sites et PHP"}, []


def _board_renamed(site):
    forum.save_board(site.b, site.admin, slug=site.b.slug, name="Courriel et webmail",
                     description="", visibility="public", position=site.b.position)
    return {"board b": "Courriel et webmail", "index": "Courriel et webmail",
            "b1": "Courriel et webmail"}, []


def _member_renamed(site):
    site.member.name = "Marc Durand"
    db.session.commit()
    return {"a1": "Marc Durand", "board a": "Marc Durand"}, []


WRITES = {"reply": _reply, "edit": _edit, "hide thread": _hide_thread, "move": _move,
          "lock": _lock, "affected": _affected, "promote": _promote,
          "incident update": _incident_update, "service renamed": _service_renamed,
          "board renamed": _board_renamed, "member renamed": _member_renamed}


@pytest.mark.parametrize("memo", ["off", "auto"])  # guests' stamps read afresh, or kept
@pytest.mark.parametrize("kind", WRITES)
def test_a_write_changes_exactly_the_pages_that_show_it(app, client, site, kind, memo,
                                                        monkeypatch):
    monkeypatch.setitem(app.config, "STAMP_MEMO", memo)
    paths = site.paths()
    warm(client, paths.values())
    expected, untouched = WRITES[kind](site)
    db.session.commit()
    for name, text in expected.items():
        response, body = get(client, paths[name])
        assert response.headers["X-Cache"] == "miss", f"{kind}: {name} served from the cache"
        wanted, present = text if isinstance(text, tuple) else (text, True)
        if wanted is not None:
            assert (wanted in body) is present, f"{kind}: {name} does not show the change"
    for name in untouched:
        assert client.get(paths[name]).headers["X-Cache"] == "hit", f"{kind}: {name} dropped"


@pytest.mark.parametrize("memo", ["off", "auto"])
def test_a_hidden_post_disappears_at_once(app, client, site, memo, monkeypatch):
    monkeypatch.setitem(app.config, "STAMP_MEMO", memo)
    post = forum.reply(site.a1, site.member, "Message à cacher rapidement")
    path = site.paths()["a1"]
    warm(client, [path])
    forum.hide_post(post, site.admin)
    assert "Message à cacher rapidement" not in client.get(path).get_data(as_text=True)


def test_a_member_sees_the_banner_change_at_once(client, site, login_as):
    login_as("member")
    path = site.paths()["b1"]
    assert "Nous regardons." in client.get(path).get_data(as_text=True)
    with site_context():
        travaux.post_update(site.incident, site.admin, "identified", "Un disque est en cause.")
    assert "Un disque est en cause." in client.get(path).get_data(as_text=True)
    with site_context():
        travaux.post_update(site.incident, site.admin, "resolved", "Disque remplacé.")
    assert "ops-banner" not in client.get(path).get_data(as_text=True)


def test_two_languages_never_share_an_entry(client, site):
    path = site.paths()["a1"]
    french = client.get(path, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    english = client.get(path, headers={"Accept-Language": "en"})
    assert english.headers["X-Cache"] == "miss"
    assert "Reply" in english.get_data(as_text=True) and "Répondre" in french
    assert client.get(path, headers={"Accept-Language": "fr"}).headers["X-Cache"] == "hit"


def test_the_language_link_sets_a_cookie_and_the_page_follows(client, site):
    path = site.paths()["a1"]
    warm(client, [path])
    switch = client.get(f"/language/en?next={path}")
    assert switch.status_code == 302 and switch.headers["Location"].endswith(path)
    assert any(c.startswith("locale=en") for c in switch.headers.getlist("Set-Cookie"))
    page = client.get(path)
    assert page.headers["X-Cache"] == "miss"
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert page.headers.getlist("Set-Cookie") == []
    assert client.get("/language/de").status_code == 404


def test_a_staff_view_never_enters_the_cache(client, site, login_as):
    path = site.paths()["a1"]
    login_as("admin")
    staff = client.get(path)
    assert "X-Cache" not in staff.headers
    assert staff.cache_control.private and staff.cache_control.no_cache
    assert "Hide thread" in staff.get_data(as_text=True) or "Masquer" in staff.get_data(
        as_text=True)
    guest = create_guest(client)
    response = guest.get(path)
    assert response.headers["X-Cache"] == "miss"
    body = response.get_data(as_text=True)
    assert "Masquer le sujet" not in body and "staff-bar" not in body


def create_guest(client):
    return client.application.test_client()


def test_a_member_is_served_their_own_page_marked_private(client, site, login_as):
    path = site.paths()["a1"]
    warm(create_guest(client), [path])
    member = login_as("member", name="Zoé Lecteur")
    response = client.get(path)
    assert "X-Cache" not in response.headers and response.cache_control.private
    assert member.name in response.get_data(as_text=True)


def test_a_guest_with_a_message_waiting_sees_it(client, site):
    path = site.paths()["a1"]
    warm(create_guest(client), [path])
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Votre inscription est enregistrée.")]
    response = client.get(path)
    assert "Votre inscription est enregistrée." in response.get_data(as_text=True)
    assert "X-Cache" not in response.headers


def test_the_cache_can_be_turned_off(database_url, app):
    off = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "GUEST_CACHE": "off"})
    with off.app_context():
        make_thread()
        guest = off.test_client()
        first, second = guest.get("/"), guest.get("/")
        assert first.headers["X-Cache"] == second.headers["X-Cache"] == "miss"
        assert second.headers["ETag"] == first.headers["ETag"]


def test_the_memory_store_forgets_the_oldest_and_the_expired():
    store = pagecache.MemoryStore(size=2)
    store.set("a", 1, 60)
    store.set("b", 2, 60)
    store.get("a")
    store.set("c", 3, 60)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3
    store.set("d", 4, -1)
    assert store.get("d") is None


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    return url


def test_with_redis_every_worker_shares_the_entries(database_url, app, redis_url):
    prefix = f"board-test-{os.getpid()}-{secrets.token_hex(4)}:"
    config = {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "GUEST_CACHE": "redis",
              "REDIS_URL": redis_url, "GUEST_CACHE_PREFIX": prefix}
    one, two = create_app(config), create_app(config)
    thread = make_thread(title="Partagé entre les processus")
    path = f"/threads/{thread.id}/{thread.slug}"
    try:
        with one.app_context():
            assert one.test_client().get(path).headers["X-Cache"] == "miss"
        with two.app_context():
            shared = two.test_client().get(path)
            assert shared.headers["X-Cache"] == "hit"
            assert "Partagé entre les processus" in shared.get_data(as_text=True)
        forum.reply(thread, thread.author, "Une réponse vue de partout.")
        with two.app_context():
            fresh = two.test_client().get(path)
            assert "Une réponse vue de partout." in fresh.get_data(as_text=True)
    finally:
        with one.app_context():
            pagecache.store().clear()


def test_an_unreachable_redis_only_costs_the_cache(database_url, app):
    from tests.ops.test_doctor import free_port

    down = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                       "GUEST_CACHE": "redis", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    thread = make_thread(title="Redis est arrêté")
    with down.app_context():
        response = down.test_client().get(f"/threads/{thread.id}/{thread.slug}")
    assert response.status_code == 200 and "Redis est arrêté" in response.get_data(as_text=True)


def test_a_head_request_gets_the_headers_alone(client, site):
    path = site.paths()["a1"]
    client.get(path)
    head = client.head(path)
    assert head.status_code == 200 and head.headers["X-Cache"] == "hit"
    assert head.get_data() == b"" and int(head.headers["Content-Length"]) > 1000


def test_a_guest_with_a_session_of_their_own_is_served_from_the_cache_too(client, site):
    client.get("/login")  # a form: a CSRF token, so a session cookie
    assert client.get_cookie("session") is not None
    path = site.paths()["a1"]
    # Flask-Login marks such a session "not fresh" on its first page: a change, not kept.
    client.get(path)
    first, second = client.get(path), client.get(path)
    assert second.headers["X-Cache"] == "hit"
    assert second.headers["Content-Security-Policy"]
    assert second.get_data() == first.get_data()
    forum.reply(site.a1, site.member, "Vu aussi avec une session.")
    assert "Vu aussi avec une session." in client.get(path).get_data(as_text=True)


def test_behind_a_proxy_each_host_has_its_own_entries(database_url, app):
    proxied = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                          "TRUSTED_PROXIES": 1})
    make_thread(title="Derrière le proxy")
    with proxied.app_context():
        guest = proxied.test_client()
        one = guest.get("/feed.atom", headers={"X-Forwarded-Host": "un.example.org"})
        two = guest.get("/feed.atom", headers={"X-Forwarded-Host": "deux.example.org"})
        again = guest.get("/feed.atom", headers={"X-Forwarded-Host": "un.example.org"})
    assert one.headers["X-Cache"] == two.headers["X-Cache"] == "miss"
    assert again.headers["X-Cache"] == "hit"


def test_a_stamp_connection_killed_by_the_server_is_replaced(client, site, database_url):
    """The stamps' connection stays open between hits without a liveness ping: when the
    server ends it (a restart, an idle timeout), the next stamp opens another at once, and
    the page still comes from the cache."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server ending a connection exists on PostgreSQL")
    from sqlalchemy import text

    from board.forum.stamps import thread_stamp

    path = site.thread_path(site.a1)
    warm(client, [path])
    before = thread_stamp(thread_id=site.a1.id)
    held = pagecache._stamps.held
    with db.engine.connect() as connection:
        ended = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'idle'")).scalar()
    assert ended >= 1
    assert thread_stamp(thread_id=site.a1.id) == before  # read again, on a new connection
    assert pagecache._stamps.held is not held
    response, page = get(client, path)
    assert response.status_code == 200 and response.headers["X-Cache"] == "hit"
    assert "Site lent depuis ce matin" in page


def test_the_routes_guests_ask_for_are_matched_once_and_kept_bounded(client, site, monkeypatch):
    pages = client.application.wsgi_app
    assert isinstance(pages, pagecache.GuestPages)
    monkeypatch.setattr(pages, "ROUTES", 3)
    pages.routes = {}
    client.get(site.paths()["a1"])
    assert [found[0] for found in pages.routes.values()] == ["forum.thread"]  # kept
    for _ in range(2):  # matched, then from the memo: the same answers
        assert client.get(site.paths()["a1"]).status_code == 200
        assert client.get("/travaux").status_code == 308  # Flask's redirect to /travaux/
        assert client.get("/threads/999999/absent").status_code == 404  # a stamp's 404
        assert client.get("/nothing-here").status_code == 404
        assert client.post("/nothing-here").status_code in (404, 405)
    assert len(pages.routes) <= 3
    for number in range(10):
        assert client.get(f"/nothing-{number}").status_code == 404
    assert len(pages.routes) <= 3
    assert client.get(site.paths()["a1"]).headers["X-Cache"] == "hit"
