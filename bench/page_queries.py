"""Count the SQL queries of the board and thread pages, for a guest and for a member, on the
demo's data (the figure of issue 15: unread tracking's cost, before and after).

    PYTHONPATH=<a tree of the code> .venv/bin/python bench/page_queries.py

Builds a throw-away SQLite database, loads the demo, logs in as Membre 1, and counts what the
second visit of each page sends (the first warms templates; the guest page cache is emptied
in between). Run it on two trees (say `git archive main`) to compare them on the same data.
"""

import os
import re
import tempfile

INSTANCE = tempfile.mkdtemp(prefix="page-queries-")
os.environ["BOARD_INSTANCE_PATH"] = INSTANCE
os.environ["DATABASE_URL"] = f"sqlite:///{INSTANCE}/db.sqlite3"
os.environ.pop("REDIS_URL", None)

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from board import create_app, pagecache  # noqa: E402
from board.extensions import db  # noqa: E402
from board.forum.models import Thread  # noqa: E402

CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def main() -> None:
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False})
    statements: list[str] = []
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        thread = db.session.scalar(select(Thread).where(Thread.slug.like("erreur-503%")))
        paths = {"board": "/boards/hebergement-web",
                 "thread": f"/threads/{thread.id}/{thread.slug}"}
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))

    def count(client, path: str) -> int:
        client.get(path)
        with app.app_context():
            if (cache := pagecache.store()) is not None:
                cache.clear()
        statements.clear()
        assert client.get(path).status_code == 200
        return len(statements)

    guest, member = app.test_client(), app.test_client()
    token = CSRF.search(member.get("/login").data).group(1).decode()
    member.post("/login", data={"email": "membre1@exemple.org",
                                "password": "membre-demo-2026", "csrf_token": token})
    for who, client in (("guest", guest), ("member", member)):
        for name, path in paths.items():
            print(f"{who:6} {name:6} {count(client, path):3d} queries  {path}")


if __name__ == "__main__":
    main()
