"""A web worker loads what serving pages needs, not what only some commands and writes need:
Alembic (migrations), the confusables tables (names at registration), markdown-it and bleach
(rendering at write time) and the French stemmer (search) weigh 25 MB in every worker; on
SQLite, SQLAlchemy's PostgreSQL dialect 2 MB more; icalendar (the calendars alone) 80 modules."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOADED_LATER = ["alembic", "flask_migrate", "confusable_homoglyphs.confusables", "markdown_it",
                "bleach", "Stemmer", "sqlalchemy.dialects.postgresql", "psycopg", "icalendar"]
SCRIPT = f"""
import json, sys
import wsgi
print(json.dumps([m for m in {LOADED_LATER!r} if m in sys.modules]))
"""


def test_a_web_worker_starts_without_the_modules_of_commands_and_writes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOARD_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'board.sqlite3'}"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
