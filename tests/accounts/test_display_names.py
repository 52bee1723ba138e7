"""A display name cannot pass for another: lookalikes (case, width, homoglyphs) are taken,
and a name keeps to one script."""

import pytest
from sqlalchemy import func, select, text

from board.accounts.models import User
from board.accounts.names import is_mixed_script, name_key
from board.extensions import db
from tests.factories import PASSWORD, make_user
from tests.migrations import database_at

TAKEN = "déjà pris"
MIXED = "un seul alphabet"


def register(client, name, email="new@example.org"):
    return client.form("/register", {"email": email, "name": name, "password": PASSWORD})


@pytest.mark.parametrize("existing, lookalike", [
    ("Sophie M.", "Ｓｏｐｈｉｅ M."),   # fullwidth
    ("Élodie R.", "élodie r."),         # case
    ("Karim B.", "Karirn B."),          # rn for m
    ("Bob 01", "Bob Ol"),               # digits for letters
    ("Иван П.", "иван п."),             # Cyrillic, folded
])
def test_registering_a_lookalike_of_a_taken_name_is_refused(client, existing, lookalike):
    make_user(name=existing)
    page = register(client, lookalike).get_data(as_text=True)
    assert TAKEN in page
    assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize("name", ["Sophie М.", "Ѕophie M.", "Nadia Κ."])
def test_a_name_mixing_scripts_is_refused(client, name):
    page = register(client, name).get_data(as_text=True)
    assert MIXED in page
    assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.parametrize("name", ["Élodie R.", "Jean-Luc O'Neil", "Zoë 2", "Иван П.",
                                  "François-Xavier D."])
def test_ordinary_names_are_accepted(client, name):
    assert is_mixed_script(name) is False
    register(client, name)
    assert db.session.scalar(select(User.name)) == name


def test_a_profile_cannot_take_a_lookalike_name(client, login_as):
    make_user(name="Sophie M.")
    user = login_as(name="Someone")
    for name, message in (("Ｓｏｐｈｉｅ M.", TAKEN), ("Sophie М.", MIXED)):
        response = client.form("/account/profile", {"name": name, "locale": ""})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Someone"
    # Its own name, in another case, is fine.
    client.form("/account/profile", {"name": "SOMEONE", "locale": ""})
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "SOMEONE"


def test_users_create_refuses_a_lookalike_in_french(runner):
    make_user(name="Élodie R.")
    for name, message in (("élodie r.", TAKEN), ("Élodie Р.", MIXED)):
        result = runner.invoke(args=["users", "create", "--email", "x@example.org",
                                     "--name", name, "--password", "long enough pass"])
        assert result.exit_code != 0 and message in result.output, result.output


def test_the_name_check_is_one_query_on_an_indexed_key(app):
    from board.accounts.services import name_taken
    from tests.conftest import count_queries

    make_user(name="Sophie M.")
    with count_queries() as statements:
        assert name_taken("Ｓｏｐｈｉｅ M.")
    assert len(statements) == 1 and "name_key" in statements[0]
    assert name_key("Sophie M.") == name_key("SOPHIE m.")


def test_the_migration_fills_the_keys_of_existing_names(tmp_path):
    from flask_migrate import upgrade

    with database_at(tmp_path, "2bc084db76d7"):
        with db.engine.begin() as conn:
            for n, name in enumerate(("Sophie M.", "Ｓｏｐｈｉｅ M.", "Élodie R."), start=1):
                conn.execute(text(
                    "INSERT INTO users (id, email, name, password_hash, role, created_at, "
                    "session_version) VALUES (:id, :email, :name, 'x', 'member', "
                    "'2026-01-01 00:00:00.000000', 1)"),
                    {"id": n, "email": f"u{n}@example.org", "name": name})
        upgrade()
        with db.engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT id, name_key FROM users")).all())
    assert keys[1] == name_key("Sophie M.")
    assert keys[2] == name_key("Sophie M.") + "#2"  # an old lookalike keeps its name
    assert keys[3] == name_key("élodie r.")
