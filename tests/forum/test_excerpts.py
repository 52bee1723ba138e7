"""Previews are stored: a post's and an incident update's plain-text excerpt is computed when
the text is written or edited, and digest mails, the Travaux banner and the embed show the
stored one without rendering any Markdown again."""

import pytest
from sqlalchemy import text

from board import markup
from board.extensions import db
from board.forum import services as forum
from board.outbox.services import deliver_due
from tests.factories import make_board, make_thread, make_user
from tests.migrations import database_at
from tests.outbox import conftest as outbox_fixtures
from tests.travaux.factories import make_incident

_smtp_server = outbox_fixtures._smtp_server
smtp_server = outbox_fixtures.smtp_server
clock = outbox_fixtures.clock


@pytest.fixture
def renders(monkeypatch):
    """Count the Markdown renders (the spy calls the real function)."""
    calls = []
    real = markup._render_markdown

    def counting(source, *args):
        calls.append(source)
        return real(source, *args)

    monkeypatch.setattr(markup, "_render_markdown", counting)
    return calls


def test_writing_and_editing_store_the_excerpt(app):
    thread = make_thread(body="**Panne** du _serveur_ de mail.\n\n- depuis 8 h")
    post = db.session.get(forum.Post, thread.last_post_id)
    assert post.excerpt == "Panne du serveur de mail. depuis 8 h"
    forum.edit_post(post, post.author, "Réparé, [détails](https://example.org).")
    assert post.excerpt == "Réparé, détails."
    assert len(forum.reply(thread, make_user(), "mot " * 200).excerpt) == markup.EXCERPT_LENGTH


def test_a_digest_shows_the_stored_excerpt_and_renders_nothing(app, smtp_server, clock, renders):
    author, bea = make_user(), make_user()
    thread = make_thread(board=make_board(), author=author)
    reply = forum.reply(thread, bea, "Chez moi aussi.")
    reply.excerpt = "Extrait enregistré"
    db.session.commit()
    renders.clear()

    clock.advance(seconds=app.config["WATCH_DIGEST_SECONDS"] + 1)
    deliver_due()
    [mail] = [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == author.email]
    assert "Extrait enregistré" in mail.get_body(("plain",)).get_content()
    assert "Extrait enregistré" in mail.get_body(("html",)).get_content()
    assert "Chez moi aussi" not in mail.get_body(("plain",)).get_content()
    assert renders == []


@pytest.mark.parametrize("url", ["/", "/travaux/embed"])
def test_the_banner_and_the_embed_show_the_stored_excerpt(client, renders, url):
    incident = make_incident(title="Coupure du webmail", message="Le **webmail** répond mal.")
    assert incident.last_update.excerpt == "Le webmail répond mal."
    incident.last_update.excerpt = "Extrait enregistré de la mise à jour"
    db.session.commit()
    renders.clear()

    page = client.get(url).get_data(as_text=True)
    assert "Coupure du webmail" in page
    assert "Extrait enregistré de la mise à jour" in page
    assert "répond mal" not in page
    assert renders == []


def test_the_migration_fills_the_excerpt_of_existing_rows(tmp_path):
    from flask_migrate import upgrade

    with database_at(tmp_path, "2bc084db76d7"):
        with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO users (id, email, name, password_hash, role, created_at, "
                "session_version) VALUES (1, 'a@example.org', 'A', 'x', 'member', "
                "'2026-01-01 00:00:00', 1)",
                "INSERT INTO boards (id, slug, name, description, position, visibility, "
                "thread_count, post_count) VALUES (1, 'b', 'B', '', 0, 'public', 1, 1)",
                "INSERT INTO threads (id, board_id, author_id, title, slug, created_at, "
                "last_activity_at, post_count, pinned) VALUES (1, 1, 1, 'T', 't', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, 0)",
                "INSERT INTO posts (id, thread_id, author_id, body_source, body_html, "
                "created_at, official) VALUES (1, 1, 1, 'x', '<p><strong>Tom</strong> &amp; "
                "<a href=\"/x\" title=\"1 > 0\">Jerry</a></p>\n<p>ensuite</p>', "
                "'2026-01-01 00:00:00', 0)",
            ):
                conn.execute(text(statement))
        upgrade(revision="7db674a23518")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT excerpt FROM posts")).scalar() == (
                "Tom & Jerry ensuite")
