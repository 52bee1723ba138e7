"""Search tests: results read from the page a visitor gets, and the demo data to search."""

import json
import re
from html import unescape
from pathlib import Path

import pytest

from board.extensions import db
from board.forum import services as forum
from board.forum.models import Board
from tests.factories import make_user

RELEVANCE = Path(__file__).resolve().parents[1] / "data" / "search_relevance.json"
RESULT = re.compile(r'<li class="search-result result-(\w+)">\s*<a class="title" href="[^"]*">'
                    r'([^<]*)</a>')


def results(response) -> list[str]:
    """The results of a search page, as "kind:title", in order."""
    assert response.status_code == 200, response.data[:800]
    return [f"{kind}:{unescape(title)}" for kind, title in
            RESULT.findall(response.get_data(as_text=True))]


def judged() -> dict:
    return json.loads(RELEVANCE.read_text(encoding="utf-8"))


@pytest.fixture
def demo(runner):
    """`flask demo`, plus the reports of the judged set, opened by members."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    author = make_user(name="Rapporteur")
    for slug, title, body in judged()["seeded"]:
        board = db.session.query(Board).filter_by(slug=slug).one()
        forum.open_thread(board, author, title, body)
