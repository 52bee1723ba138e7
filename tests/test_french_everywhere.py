"""The French interface speaks French everywhere: every string the code wraps for translation
has its French text, and no English sentence of the catalog (nor of the libraries whose
messages reach the page: WTForms, Flask-Login) shows on any page, form error included."""

import html
import re
from pathlib import Path

import pytest
import wtforms
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post
from board.lists import services as lists
from board.lists.models import Subscription
from board.travaux import services as travaux
from board.urls import site_context
from tests.factories import make_board, make_thread, make_user
from tests.travaux.factories import make_incident, make_service

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "board/translations/fr/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)
SHOWN_ATTRIBUTES = re.compile(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"')


def _catalog():
    with CATALOG.open("rb") as file:
        return read_po(file, locale="fr")


def _forms(message) -> list[tuple[str, str]]:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return list(zip(ids, strings, strict=False))


def extracted() -> list[tuple[str, str]]:
    """(msgid, where) of every string the code and templates wrap, as pybabel extracts them."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    return [(message if isinstance(message, str) else message[0], f"{filename}:{lineno}")
            for filename, lineno, message, _comments, _context in extract_from_dir(
                str(ROOT), method_map, options_map, keywords=KEYWORDS)]


def english_sentences() -> list[str]:
    """Strings that must never show on a French page: every msgid whose French differs (or
    is missing), longer than a few characters, without its placeholders; WTForms' own
    messages; and Flask-Login's."""
    found = set()
    catalog = _catalog()
    for msgid, _where in extracted():
        if msgid not in catalog and len(msgid) >= 4:
            found.add(msgid.strip(" :,.()→←·—-"))
    for message in catalog:
        for msgid, msgstr in _forms(message):
            if not msgid or not msgstr or msgstr == msgid:
                continue
            for piece in re.split(r"%\(\w+\)[sd]|%[sd]", msgid):
                piece = piece.strip(" :,.()→←·—-")
                # A piece the French keeps too (a name: "Travaux", "RSS") is no English.
                if len(piece) >= 4 and piece not in msgstr:
                    found.add(piece)
    wtforms_pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    with wtforms_pot.open("rb") as file:
        for message in read_po(file):
            for msgid, _ in _forms(message):
                piece = re.split(r"%\(\w+\)[sd]|%[sd]", msgid or "")[0].strip(" .")
                if len(piece) >= 12:
                    found.add(piece)
    found.add("Please log in to access this page")
    return sorted(found, key=len, reverse=True)


def shown_text(page: str) -> str:
    """What a reader sees or hears: text and the attributes read aloud or hovered."""
    attributes = " ".join(SHOWN_ATTRIBUTES.findall(page))
    return html.unescape(re.sub(r"\s+", " ", TAGS.sub(" ", page) + " " + attributes))


def untranslated(page: str, sentences) -> list[str]:
    text = shown_text(page)
    return [s for s in sentences if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)]


def test_every_string_the_code_wraps_has_its_french_translation():
    catalog = _catalog()
    strings = extracted()
    missing = {msgid: where for msgid, where in strings
               if catalog.get(msgid) is None or not all(_forms(catalog.get(msgid))[0])}
    # A template that fails to parse (a tag the extractor does not know, like `do`) is
    # skipped without a word by pybabel: its strings never reach the catalog.
    assert len(strings) > 500
    assert missing == {}


@pytest.fixture
def site(app):
    """One of everything a page can show, named in French."""
    admin = make_user(role="admin", name="Luc")
    member = make_user(name="Zoé")
    board = make_board(slug="hebergement-web", name="Hébergement web")
    thread = make_thread(board=board, author=member, title="Mon site est très lent")
    service = make_service("messagerie", "Messagerie")
    incident = make_incident(admin, services=[service], title="Panne de la messagerie")
    make_incident(admin, kind="maintenance", services=[service], title="Mise à jour du noyau")
    with site_context():
        travaux.link_thread(incident, thread, admin)
        sent = lists.add_notice("informations", admin, "Nouveautés de décembre", "Bonjour.")
    informations = lists.get_list("informations")
    [held] = lists.hold_mail([informations], "bureau@example.org", "Réunion", "Jeudi.")
    db.session.commit()
    from board.outbox.services import deliver_due

    with site_context():
        deliver_due()
    subscription = Subscription(list=informations, email="ann@example.org", status="active",
                                token="jeton-de-test-1234567890")
    db.session.add(subscription)
    for n in range(52):  # more than a page of the moderation log: its pagination shows
        forum.lock(thread, admin, n % 2 == 0)
    db.session.commit()
    return {"admin": admin, "board": board, "thread": thread, "incident": incident,
            "service": service, "sent": sent, "held": held, "subscription": subscription}


def _arguments(site, endpoint) -> dict:
    thread = site["thread"]
    first_post = db.session.scalar(select(func.min(Post.id)).where(Post.thread_id == thread.id))
    values = {"thread_id": thread.id, "post_id": first_post, "incident_id": site["incident"].id,
              "service_id": site["service"].id, "board_id": site["board"].id,
              "message_id": site["sent"].id, "token": site["subscription"].token,
              "slug": "informations" if endpoint.startswith("lists.") else site["board"].slug}
    return values


def pages(app, site) -> list[str]:
    """Every GET address: those without arguments, and the others filled from `site`."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or "fmt" in rule.arguments:
                continue
            values = _arguments(site, rule.endpoint)
            if rule.endpoint == "forum.thread" and "slug" in rule.arguments:
                values["slug"] = site["thread"].slug
            if not set(rule.arguments) <= set(values):
                continue
            urls.append(url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}))
    return sorted(set(urls))


# Forms sent empty (or nearly): the page that answers shows every error message.
FORMS = ["/register", "/login", "/reset", "/lists/", "/account/profile", "/account/password",
         "/account/email", "/boards/{board}/new", "/threads/{thread}/reply",
         "/posts/{post}/edit", "/admin/boards/new", "/travaux/incidents/new",
         "/travaux/services/new", "/travaux/incidents/{incident}/updates",
         "/threads/{thread}/promote", "/lists/informations/compose",
         "/lists/informations/settings", "/travaux/incidents/{incident}/link",
         "/threads/{thread}/move", "/lists/held/{held}/reject"]


def _html(response) -> str | None:
    if not response.content_type.startswith("text/html"):
        return None
    return response.get_data(as_text=True)


def test_every_page_and_form_error_is_in_french(client, site):
    sentences = english_sentences()
    found = {}
    visited = 0

    def check(label, response):
        nonlocal visited
        page = _html(response)
        if page is None:
            return
        visited += 1
        assert '<html' not in page or '<html lang="fr">' in page, label
        if bad := untranslated(page, sentences):
            found[label] = bad

    urls = pages(client.application, site) + ["/moderation?page=2"]
    for url in urls:
        check(f"guest GET {url}", client.get(url, follow_redirects=True))
    thread, post = site["thread"], _arguments(site, "forum.post")["post_id"]
    names = {"board": site["board"].slug, "thread": thread.id, "post": post,
             "incident": site["incident"].id, "held": site["held"].id}
    for url in ("/register", "/login", "/reset", "/lists/"):
        check(f"guest POST {url}", client.form(url, {}, follow_redirects=True))
    assert client.login(site["admin"].email).status_code == 302
    for url in urls:
        check(f"admin GET {url}", client.get(url, follow_redirects=True))
    for form in FORMS:
        url = form.format(**names)
        check(f"admin POST {url}", client.form(url, {}, follow_redirects=True))
        check(f"admin POST {url} (blank)", client.form(
            url, {"title": " ", "body": " ", "email": "x", "name": "!", "message": " "},
            follow_redirects=True))
    assert visited > 80
    assert {"/", "/travaux/", "/moderation", "/account", f"/threads/{thread.id}",
            f"/travaux/incidents/{site['incident'].id}", "/lists/informations/"} <= set(urls)
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in sorted(found.items()))
