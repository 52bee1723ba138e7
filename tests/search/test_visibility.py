"""Search shows each viewer exactly what board/visibility.py lets them see: no staff board,
hidden thread, hidden post or unsent list message ever matches for guests and members."""

import pytest

from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post
from board.lists import services as lists
from board.lists.models import MailingList
from tests.factories import make_board, make_thread, make_user
from tests.search.conftest import results

STAFF_SEES = {None: False, "member": False, "moderator": True, "admin": True}


def search(client, q, **args):
    return results(client.get("/search", query_string={"q": q, **args}))


@pytest.fixture
def as_role(client, login_as):
    def log_in(role):
        if role is not None:
            login_as(role)
    return log_in


@pytest.mark.parametrize("role", list(STAFF_SEES))
def test_a_hidden_posts_words_never_make_its_thread_match(client, as_role, role):
    thread = make_thread(title="Souci de messagerie", body="Les mails partent mal.")
    secret = forum.reply(thread, thread.author, "Mon mot de passe est zigouigoui.")
    forum.hide_post(secret, make_user(role="moderator"))
    as_role(role)
    assert bool(search(client, "zigouigoui")) == STAFF_SEES[role]
    assert search(client, "messagerie") == ["thread:Souci de messagerie"]


def test_a_hidden_post_is_never_the_snippet_a_guest_reads(client):
    thread = make_thread(title="Panne du webmail", body="Le webmail ne répond plus.")
    secret = forum.reply(thread, thread.author, "Webmail : mon identifiant est toto42.")
    forum.hide_post(secret, make_user(role="moderator"))
    page = client.get("/search", query_string={"q": "webmail"}).get_data(as_text=True)
    assert "Panne du webmail" in page
    assert "toto42" not in page


def test_the_author_of_a_hidden_post_does_not_find_it_either(client):
    author = make_user()
    thread = make_thread(title="Question", body="Une question.")
    post = forum.reply(thread, author, "Je retire ce message farfelu.")
    forum.hide_post(post, author)
    client.login(author.email)
    assert search(client, "farfelu") == []


@pytest.mark.parametrize("role", list(STAFF_SEES))
def test_a_hidden_thread_is_found_by_staff_only(client, as_role, role):
    thread = make_thread(title="Arnaque au remboursement", body="Cliquez sur ce lien.")
    forum.hide_thread(thread, make_user(role="moderator"))
    as_role(role)
    assert bool(search(client, "remboursement")) == STAFF_SEES[role]
    assert bool(search(client, "lien")) == STAFF_SEES[role]


@pytest.mark.parametrize("role", list(STAFF_SEES))
def test_a_hidden_first_post_hides_its_thread_from_search(client, as_role, role):
    thread = make_thread(title="Spam", body="Achetez des montres.")
    first = db.session.get(Post, forum.first_post_id(thread))
    forum.hide_post(first, make_user(role="moderator"))
    as_role(role)
    assert bool(search(client, "montres")) == STAFF_SEES[role]


@pytest.mark.parametrize("role", list(STAFF_SEES))
def test_staff_boards_are_searched_by_staff_only(client, as_role, role):
    staff = make_board(visibility="staff", slug="equipe", name="Équipe")
    make_thread(board=staff, title="Suivi des lenteurs web7", body="Charge du stockage.")
    as_role(role)
    assert bool(search(client, "web7")) == STAFF_SEES[role]
    assert bool(search(client, "stockage", board="equipe")) == STAFF_SEES[role]
    page = client.get("/search", query_string={"q": "stockage"}).get_data(as_text=True)
    assert ('value="equipe"' in page) == STAFF_SEES[role]


def test_a_thread_moved_to_a_staff_board_leaves_the_guests_results(client):
    thread = make_thread(title="Fuite de données", body="Une fuite.")
    assert search(client, "fuite") == ["thread:Fuite de données"]
    forum.move(thread, make_board(visibility="staff"), make_user(role="moderator"))
    assert search(client, "fuite") == []


@pytest.mark.parametrize("role", list(STAFF_SEES))
def test_held_and_rejected_list_messages_are_never_found(client, as_role, role):
    admin = make_user(role="admin")
    mailing_list = db.session.query(MailingList).filter_by(slug="informations").one()
    lists.compose(mailing_list, admin, "Brouillon confidentiel", "Pas encore validé.")
    rejected = lists.compose(mailing_list, admin, "Refusé confidentiel", "Refusé.")
    lists.reject(rejected, admin, "Non.")
    as_role(role)
    assert search(client, "confidentiel") == []
