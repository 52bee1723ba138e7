"""Display names stay on one line: they go into pages, feeds and mail headers."""

from sqlalchemy import select

from board.accounts.models import User
from board.extensions import db


def test_a_display_name_is_kept_on_one_line_at_registration(client):
    response = client.form("/register", {"email": "elodie@example.org", "name": "Élodie\tR.\n",
                                         "password": "une phrase de passe solide"})
    assert response.status_code in (200, 302), response.data[:500]
    assert db.session.scalar(select(User.name)) == "Élodie R."


def test_a_display_name_is_kept_on_one_line_in_the_profile(client, login_as):
    user = login_as()
    response = client.form("/account/profile", {"name": "Nouveau\r\n Nom\x07", "locale": ""})
    assert response.status_code == 302, response.data[:500]
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Nouveau Nom"
