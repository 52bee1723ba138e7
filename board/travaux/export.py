"""The independent status site: Travaux written as plain files, republished on every change.

The pages are the live templates rendered as a guest sees them, in export mode (no account
menu, no forms, no script, the time of export on every page); their site paths are then
rewritten into relative links between the exported files. The export is built in a fresh
folder beside the target and swapped in with one atomic rename of a symbolic link, so a web
server reading DIR never serves half a site, and a failed export leaves the previous one.
The version it replaces is kept until the next export: whoever still reads it (a publish
command, a web server) finishes reading. One publish runs at a time across workers.
"""

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path

from flask import current_app, g
from sqlalchemy import select, text

from board.clock import now
from board.extensions import db
from board.outbox.services import Later
from board.travaux import history
from board.travaux.models import Incident, Service
from board.travaux.status import status_document
from board.visibility import GUEST

log = logging.getLogger("board.export")
_HREF = re.compile(r'((?:href|src)=")(/[^"]*)(")')
_STATIC_FILES = ("board.css", "favicon.svg")
# PostgreSQL advisory lock key of the publish job ("travaux" in ASCII).
PUBLISH_LOCK = 0x7472617661757800


class ExportError(RuntimeError):
    """The export or the publish command failed; the previous site stays in place."""


# Paths ----------------------------------------------------------------------------------

def export_path(path: str) -> str | None:
    """Where a live site path lives in the export (from its root), or None if it does not."""
    path, _, fragment = path.partition("#")
    base, _, query = path.partition("?")
    target = None
    if base in ("/travaux/", "/travaux") and not query:
        target = "index.html"
    elif base == "/travaux/history":  # the months' index and one page per month
        month = re.fullmatch(r"month=(\d{4}-\d{2})", query)
        target = f"history/{month.group(1)}.html" if month else \
            "history/index.html" if not query else None
    elif match := re.fullmatch(r"/travaux/incidents/(\d+)", base):
        target = f"incidents/{match.group(1)}.html"
    elif match := re.fullmatch(r"/travaux/incidents/(\d+)/feed\.(rss|atom)", base):
        target = f"incidents/{match.group(1)}.{match.group(2)}"
    elif match := re.fullmatch(r"/travaux/feed\.(rss|atom)", base):
        service = re.fullmatch(r"service=([a-z0-9-]+)", query)
        target = f"feeds/{service.group(1)}.{match.group(1)}" if service else \
            f"feed.{match.group(1)}" if not query else None
    elif base == "/travaux/maintenance.ics" and not query:
        target = "maintenance.ics"
    elif match := re.fullmatch(r"/travaux/services/([a-z0-9-]+)", base):
        target = f"services/{match.group(1)}.html" if not query else None
    elif match := re.fullmatch(r"/travaux/services/([a-z0-9-]+)/maintenance\.ics", base):
        target = f"calendars/{match.group(1)}.ics"
    elif match := re.fullmatch(r"/static/([\w.-]+)", base):
        target = f"static/{match.group(1)}" if match.group(1) in _STATIC_FILES else None
    if target is None:
        return None
    return target + (f"#{fragment}" if fragment else "")


def _relative_html(html: str, depth: int) -> str:
    """Site paths become links between exported files, or absolute links to the platform."""
    up = "../" * depth
    base_url = current_app.config["BASE_URL"]

    def swap(match):
        local = export_path(match.group(2))
        target = up + local if local else base_url + match.group(2)
        return match.group(1) + target + match.group(3)

    return _HREF.sub(swap, html)


def _public_xml(xml: str) -> str:
    """Absolute platform URLs of the Travaux pages and feeds become the public site's."""
    base_url = current_app.config["BASE_URL"]
    public = current_app.config["TRAVAUX_PUBLIC_URL"]
    pattern = re.compile(re.escape(base_url) + r"(/[^\s\"'<>&]*(?:&amp;[^\s\"'<>&]*)*)")

    def swap(match):
        local = export_path(match.group(1).replace("&amp;", "&"))
        return f"{public}/{local}" if local else match.group(0)

    return pattern.sub(swap, xml)


# Building -------------------------------------------------------------------------------

def _view(endpoint: str):
    """The live view behind `endpoint`: the export renders pages, it imports no view."""
    return current_app.view_functions[endpoint]


def _page(path: str, endpoint: str, depth: int, **kwargs) -> str:
    """Render a live page as a guest, in export mode."""
    with current_app.app_context(), \
            current_app.test_request_context(path, base_url=current_app.config["BASE_URL"]):
        # A fresh app context: `g` (the banner's operations) must not outlive this page.
        g.static_export = {"generated_at": now(),
                           "public_url": current_app.config["TRAVAUX_PUBLIC_URL"]}
        g._login_user = GUEST  # Flask-Login's current user: the one guest of board.visibility
        body = _view(endpoint)(**kwargs)
        html = body if isinstance(body, str) else body[0]
        return _relative_html(html, depth)


def _feed(path: str, endpoint: str, **kwargs) -> str:
    with current_app.test_request_context(path, base_url=current_app.config["BASE_URL"]):
        response = _view(endpoint)(**kwargs)
        return _public_xml(response.get_data(as_text=True))


def _calendar(path: str, endpoint: str, **kwargs) -> bytes:
    """A live calendar whose links (the source, each event's page) are the public site's."""
    from icalendar import Calendar, vText, vUri  # the export's and the calendars' alone

    with current_app.test_request_context(path, base_url=current_app.config["BASE_URL"]):
        calendar = Calendar.from_ical(_view(endpoint)(**kwargs).get_data())
    calendar["SOURCE"] = vUri(_public_xml(str(calendar["SOURCE"])), params={"VALUE": "URI"})
    for event in calendar.walk("VEVENT"):
        event["URL"] = vUri(_public_xml(str(event["URL"])), params={"VALUE": "URI"})
        event["DESCRIPTION"] = vText(_public_xml(str(event["DESCRIPTION"])))
    return calendar.to_ical()


def build(target: Path) -> dict:
    """Write the whole site into `target` (a new, empty folder). Returns counts."""
    (target / "incidents").mkdir(parents=True)
    (target / "feeds").mkdir()
    (target / "static").mkdir()
    (target / "calendars").mkdir()
    pages = 0
    (target / "index.html").write_text(_page("/travaux/", "travaux.status", 0),
                                       encoding="utf-8")
    (target / "history").mkdir()
    history_pages = history.export_pages()
    for path, name in history_pages:
        (target / "history" / name).write_text(_page(path, "travaux_history.history", 1),
                                               encoding="utf-8")
    ids = db.session.scalars(select(Incident.id).order_by(Incident.id)).all()
    for incident_id in ids:
        html = _page(f"/travaux/incidents/{incident_id}", "travaux.incident", 1,
                     incident_id=incident_id)
        (target / "incidents" / f"{incident_id}.html").write_text(html, encoding="utf-8")
        for fmt in ("rss", "atom"):
            xml = _feed(f"/travaux/incidents/{incident_id}/feed.{fmt}",
                        "travaux_feeds.incident_feed",
                        incident_id=incident_id, fmt=fmt)
            (target / "incidents" / f"{incident_id}.{fmt}").write_text(xml, encoding="utf-8")
        pages += 1
    for fmt in ("rss", "atom"):
        xml = _feed(f"/travaux/feed.{fmt}", "travaux_feeds.feed", fmt=fmt)
        (target / f"feed.{fmt}").write_text(xml, encoding="utf-8")
        for slug in db.session.scalars(select(Service.slug)):
            xml = _feed(f"/travaux/feed.{fmt}?service={slug}", "travaux_feeds.feed", fmt=fmt)
            (target / "feeds" / f"{slug}.{fmt}").write_text(xml, encoding="utf-8")
    (target / "maintenance.ics").write_bytes(
        _calendar("/travaux/maintenance.ics", "travaux_calendar.calendar"))
    for slug in db.session.scalars(select(Service.slug)):
        (target / "calendars" / f"{slug}.ics").write_bytes(_calendar(
            f"/travaux/services/{slug}/maintenance.ics", "travaux_calendar.service_calendar",
            slug=slug))
    _services(target)
    with current_app.test_request_context("/api/v1/status",
                                          base_url=current_app.config["BASE_URL"]):
        document = status_document()
    (target / "status.json").write_text(json.dumps(document, ensure_ascii=False, indent=1),
                                        encoding="utf-8")
    static = Path(current_app.static_folder)
    for name in _STATIC_FILES:
        shutil.copyfile(static / name, target / "static" / name)
    return {"pages": pages + 1, "incidents": len(ids), "history_pages": len(history_pages)}


def _services(target: Path) -> None:
    """Each service's page, and its 90 days of uptime as JSON beside it."""
    from board.travaux.uptime_views import DAYS, uptime_document

    (target / "services").mkdir()
    for service in db.session.scalars(select(Service)):
        html = _page(f"/travaux/services/{service.slug}", "travaux_uptime.service", 1,
                     slug=service.slug)
        (target / "services" / f"{service.slug}.html").write_text(html, encoding="utf-8")
        with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
            g._login_user = GUEST
            document = uptime_document(service, DAYS)
        (target / "services" / f"{service.slug}.uptime.json").write_text(
            json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")


def export(directory: str | os.PathLike) -> dict:
    """Export to `directory` atomically: DIR becomes a symbolic link to a fresh version."""
    link = Path(directory).absolute()
    link.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    version = link.parent / f".{link.name}.{stamp}"
    started = time.perf_counter()
    try:
        counts = build(version)
    except Exception as error:
        shutil.rmtree(version, ignore_errors=True)
        raise ExportError(f"export failed, the previous site stays: {error}") from error
    _retire(link, _swap_in(link, version))
    counts["seconds"] = round(time.perf_counter() - started, 2)
    log.info("exported Travaux to %s: %s", link, counts)
    return counts


def _swap_in(link: Path, version: Path) -> Path | None:
    """Point `link` at `version` in one rename; return the folder it pointed at before."""
    previous = None
    if link.is_symlink():
        previous = link.parent / os.readlink(link)
    elif link.exists():
        # A plain folder from before: moved aside once, after which swaps are atomic.
        previous = link.parent / f".{link.name}.replaced-{os.getpid()}"
        link.rename(previous)
    _point(link, version)
    return previous


def _retire(link: Path, previous: Path | None) -> None:
    """Keep `previous` (the version just replaced) until the next export, behind the link
    `.DIR.previous`, and remove the one it kept before: a publish command or a web server that
    opened the old version still finds every file of it."""
    kept = link.parent / f".{link.name}.previous"
    older = link.parent / os.readlink(kept) if kept.is_symlink() else None
    if previous is None:
        return
    _point(kept, previous)
    if older is not None and older.name not in (previous.name, os.readlink(link)):
        shutil.rmtree(older, ignore_errors=True)


def _point(link: Path, target: Path) -> None:
    """Make `link` a symbolic link to `target` (a sibling) in one atomic rename."""
    temporary = link.parent / f".{link.name}.link-{os.getpid()}-{threading.get_ident()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target.name)
    os.replace(temporary, link)


# Republishing ---------------------------------------------------------------------------

def publish(payload: dict) -> None:
    """The worker's half of `queue_publish` (outbox kind `publish`): export, then run
    TRAVAUX_PUBLISH_COMMAND on the folder."""
    directory = current_app.config["TRAVAUX_EXPORT_DIR"]
    if not directory:
        log.warning("publish job without TRAVAUX_EXPORT_DIR: nothing to do")
        return
    if not _publish_lock():
        raise Later("another worker is publishing the status site")
    export(directory)
    command = current_app.config["TRAVAUX_PUBLISH_COMMAND"]
    if command:
        run_publish_command(command, Path(directory).absolute())


def _publish_lock() -> bool:
    """Take the publish lock until the job's transaction ends (its row marked sent or retried),
    so the export and the command of two workers never overlap. PostgreSQL only: on SQLite a
    single worker runs (`flask worker` makes sure of it)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                             {"key": PUBLISH_LOCK})


def run_publish_command(command: str, folder: Path) -> None:
    """Run the publish command with the folder as its last argument; log what it says."""
    argv = shlex.split(command) + [str(folder) + "/"]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ExportError(f"publish command could not run: {error}") from error
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise ExportError(f"publish command exited {result.returncode}: {output[-1500:]}")
    log.info("publish command done: %s", output[-1500:] or "(no output)")


