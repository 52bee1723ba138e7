"""The independent status site: its content and links, its atomic swap, republishing through
the outbox, and the platform's 503 page when the database cannot be reached."""

import json
import re
import shutil
import socket
import stat
import threading
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from board.clock import travel
from board.extensions import db
from board.outbox.models import OutboxMessage
from board.outbox.services import deliver_due
from board.travaux import services
from board.travaux.export import ExportError, export
from board.urls import site_context
from tests.factories import make_thread, make_user
from tests.travaux.factories import make_service

PUBLIC = "https://etat.example.org"
LINK_RE = re.compile(r'(?:href|src)="([^"]+)"')


@pytest.fixture
def site(app, tmp_path, monkeypatch):
    """Some Travaux history: an ongoing incident promoted from a thread, a resolved one."""
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLIC_URL", PUBLIC)
    admin = make_user(role="admin")
    web, mail = make_service("web", "Hébergement web"), make_service("mail", "Messagerie")
    report = make_thread(title="Erreur 503")
    with site_context():
        ongoing = services.promote(report, admin, kind="incident", title="Erreurs 503",
                                   impact="major", services=[web], message="Nous enquêtons.")
        services.post_update(ongoing, admin, "identified", "Un disque est lent.")
        old = services.open_incident(admin, kind="incident", title="Mails en retard",
                                     impact="minor", services=[mail], message="File pleine.")
        services.post_update(old, admin, "resolved", "Réglé.")
    return {"dir": tmp_path / "site", "ongoing": ongoing, "old": old, "admin": admin}


def test_export_writes_a_complete_self_contained_site(app, client, site):
    counts = export(site["dir"])
    root = site["dir"]
    assert counts["incidents"] == 2
    ongoing, old = site["ongoing"].id, site["old"].id
    expected = {"index.html", "status.json", "feed.rss", "feed.atom", "static/board.css",
                f"incidents/{ongoing}.html", f"incidents/{old}.html", f"incidents/{ongoing}.rss",
                "feeds/web.atom", "feeds/mail.rss"}
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert expected <= files
    for page in root.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        # The time of export on every page, no script, no form posting to the platform.
        assert "Copie indépendante de Travaux, générée le" in html
        assert "<script" not in html and "<form" not in html
        for link in LINK_RE.findall(html):
            if link.startswith(("#", "http://board.test/", "mailto:")):
                continue  # an anchor, or a link (not a request) to the platform's forum
            assert not link.startswith(("http:", "https:", "/")), f"{page.name}: {link}"
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file() and root.resolve() in target.parents, f"{page}: {link}"
        # Assets are only ever local.
        for asset in re.findall(r'<(?:link rel="stylesheet"|img)[^>]+(?:href|src)="([^"]+)"', html):
            assert not asset.startswith("http")
    index = (root / "index.html").read_text(encoding="utf-8")
    assert "Erreurs 503" in index and "Mails en retard" in index
    incident = (root / "incidents" / f"{site['ongoing'].id}.html").read_text(encoding="utf-8")
    assert "Un disque est lent." in incident and "Nous enquêtons." in incident


def test_exported_feeds_keep_the_live_ids_with_public_links(app, client, site):
    export(site["dir"])
    for fmt in ("rss", "atom"):
        exported = feedparser.parse((site["dir"] / f"feed.{fmt}").read_bytes())
        live = feedparser.parse(client.get(f"/travaux/feed.{fmt}").data)
        assert not exported.bozo
        assert [e.id for e in exported.entries] == [e.id for e in live.entries]
        assert all(e.link.startswith(PUBLIC + "/incidents/") for e in exported.entries), \
            [e.link for e in exported.entries]
        self_links = [link.href for link in exported.feed.links if link.rel == "self"]
        assert self_links == [f"{PUBLIC}/feed.{fmt}"]
    narrowed = feedparser.parse((site["dir"] / "feeds" / "mail.rss").read_bytes())
    assert [e.title for e in narrowed.entries] == ["[Résolu] Mails en retard"]
    number = site["ongoing"].id
    updates = feedparser.parse((site["dir"] / "incidents" / f"{number}.atom").read_bytes())
    assert updates.entries[0].link.startswith(f"{PUBLIC}/incidents/{number}.html#update-")


def test_status_json_equals_the_api(app, client, site):
    export(site["dir"])
    exported = json.loads((site["dir"] / "status.json").read_text(encoding="utf-8"))
    assert exported == client.get("/api/v1/status").get_json()


def test_a_failed_export_leaves_the_previous_site(app, site, monkeypatch, tmp_path):
    export(site["dir"])
    before = (site["dir"] / "index.html").read_text(encoding="utf-8")
    with site_context():
        services.post_update(site["ongoing"], site["admin"], "monitoring", "Ça va mieux.")
    # The stylesheet cannot be copied: the export fails half-way through.
    monkeypatch.setattr(app, "static_folder", str(tmp_path / "nowhere"))
    with pytest.raises(ExportError):
        export(site["dir"])
    assert (site["dir"] / "index.html").read_text(encoding="utf-8") == before
    leftovers = [p.name for p in site["dir"].parent.iterdir() if p.name.startswith(".site.")]
    assert len(leftovers) == 1  # the live version only: the half-built one is gone
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLIC_URL", PUBLIC)
    export(site["dir"])
    assert "Ça va mieux." in (site["dir"] / "index.html").read_text(encoding="utf-8")


def test_export_swaps_a_plain_folder_once_then_atomically(app, site):
    site["dir"].mkdir()
    (site["dir"] / "old.html").write_text("old", encoding="utf-8")
    export(site["dir"])
    assert site["dir"].is_symlink() and not (site["dir"] / "old.html").exists()
    first = site["dir"].resolve()
    export(site["dir"])
    assert site["dir"].resolve() != first
    assert not list(site["dir"].parent.glob(".site.replaced-*"))  # the plain folder is gone


def test_export_keeps_the_version_it_replaces_until_the_next_one(app, site):
    # Whoever opened the previous version (a publish command, a web server) finishes it.
    export(site["dir"])
    first = site["dir"].resolve()
    files = sorted(p.relative_to(first) for p in first.rglob("*"))
    export(site["dir"])
    second = site["dir"].resolve()
    assert second != first and sorted(p.relative_to(first) for p in first.rglob("*")) == files
    export(site["dir"])
    assert not first.exists() and second.exists()
    versions = {p.name for p in site["dir"].parent.iterdir()
                if p.name.startswith(".site.") and not p.is_symlink()}
    assert versions == {second.name, site["dir"].resolve().name}


def test_export_command(runner, site):
    result = runner.invoke(args=["travaux", "export", str(site["dir"])])
    assert result.exit_code == 0, result.output
    assert "exported 3 pages (2 operations)" in result.output
    assert (site["dir"] / "index.html").is_file()


def publish_rows():
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "publish")
                              .order_by(OutboxMessage.id)).all()


def test_changes_queue_one_publish_job_and_the_worker_exports(app, site, monkeypatch):
    monkeypatch.setitem(app.config, "TRAVAUX_EXPORT_DIR", str(site["dir"]))
    with site_context():
        services.post_update(site["ongoing"], site["admin"], "monitoring", "Premier point.")
        services.post_update(site["ongoing"], site["admin"], "monitoring", "Deuxième point.")
        services.save_service(None, site["admin"], slug="dns", name="DNS", description="",
                              position=3, legacy_id=None)
    assert len(publish_rows()) == 1  # three quick changes, one export
    assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    html = (site["dir"] / "index.html").read_text(encoding="utf-8")
    assert "Deuxième point." in html and "DNS" in html
    with site_context():
        services.post_update(site["ongoing"], site["admin"], "resolved", "Fini.")
    assert [row.state for row in publish_rows()] == ["sent", "pending"]


def test_no_publish_job_without_an_export_folder(app, site):
    assert app.config["TRAVAUX_EXPORT_DIR"] == ""
    assert publish_rows() == []


def test_publish_command_runs_on_the_folder_and_is_retried(app, site, tmp_path, monkeypatch):
    script = tmp_path / "publish.sh"
    marker, received = tmp_path / "failed-once", tmp_path / "received"
    script.write_text(f"""#!/bin/sh
if [ ! -e {marker} ]; then touch {marker}; echo "host unreachable" >&2; exit 12; fi
echo "$1" > {received}; ls "$1" >> {received}; echo "synced"
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setitem(app.config, "TRAVAUX_EXPORT_DIR", str(site["dir"]))
    monkeypatch.setitem(app.config, "TRAVAUX_PUBLISH_COMMAND", str(script))
    with site_context():
        services.post_update(site["ongoing"], site["admin"], "monitoring", "Point.")
    assert deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
    [row] = publish_rows()
    assert "exited 12" in row.last_error and "host unreachable" in row.last_error
    assert not received.exists()
    with travel(timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"] + 1)):
        assert deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    folder, *listing = received.read_text().split()
    assert Path(folder) == site["dir"].absolute() and "index.html" in listing


# The platform when its database is gone ---------------------------------------------------

class Proxy:
    """A TCP forwarder on loopback to the real PostgreSQL: stopping it cuts the database off
    for real (refused connections, dropped sessions), starting it again brings it back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.sockets, self.listener = [], None

    def start(self):
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the
        # kernel socket listening for as long as that accept() runs.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.sockets = []


def _outage_app(url, tmp_path):
    from board import create_app
    from tests.conftest import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                      "TRAVAUX_PUBLIC_URL": PUBLIC, "TESTING": False})
    return app


def assert_outage_page(client):
    for path in ("/", "/travaux/", "/boards/x", "/login"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 503, path
        assert "Traceback" not in page and 'class="site-header"' in page
        assert f'href="{PUBLIC}"' in page and "site de statut indépendant" in page


def test_database_cut_off_gives_the_503_page_then_recovers(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        # SQLite: the database file is out of reach, then comes back.
        live = Path(database_url.removeprefix("sqlite:///"))
        missing = tmp_path / "mount" / "board.sqlite3"
        outage = _outage_app(f"sqlite:///{missing}", tmp_path)
        client = outage.test_client()
        assert_outage_page(client)
        missing.parent.mkdir()
        db.session.commit()
        shutil.copyfile(live, missing)
        assert client.get("/").status_code == 200
        return
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    proxy = Proxy(url.port or 5432)
    proxy.start()
    outage = _outage_app(url.set(host="127.0.0.1", port=proxy.port)
                         .render_as_string(hide_password=False), tmp_path)
    client = outage.test_client()
    try:
        assert client.get("/").status_code == 200
        proxy.stop()
        assert_outage_page(client)
        proxy.start()
        assert client.get("/").status_code == 200
        assert client.get("/travaux/").status_code == 200
    finally:
        proxy.stop()
        with outage.app_context():
            db.engine.dispose()
    # The outage wrote nothing: no publish job was queued by the failed requests.
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "publish")) == 0


def test_export_banner_is_fresh_within_one_long_lived_app_context(app, tmp_path):
    admin = make_user(role="admin")
    with site_context():
        incident = services.open_incident(admin, kind="incident", title="Panne du webmail",
                                          impact="major", services=[make_service("mail")],
                                          message="Nous regardons.")
    export(tmp_path / "site")
    assert "ops-banner" in (tmp_path / "site" / "index.html").read_text()
    with site_context():
        services.post_update(incident, admin, "resolved", "Réglé.")
    export(tmp_path / "site")  # the same app context, as in the worker
    assert "ops-banner" not in (tmp_path / "site" / "index.html").read_text()
