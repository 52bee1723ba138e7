"""Mentions and quotes: "@Name" links to the profile and tells the member once per post,
never about what they may not see; "Citer" starts a reply with a quote that tells its author;
names are suggested after two letters, only of members the reader may see."""

import re

import pytest
from sqlalchemy import select

from board.extensions import db
from board.forum import services as forum
from board.forum.drafts import save_draft
from board.forum.members import profile_path
from board.forum.models import Post
from board.forum.notifications import Notification
from tests.factories import make_board, make_thread, make_user


def told(user, kind=None) -> list[Notification]:
    db.session.expire_all()
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


# The links --------------------------------------------------------------------------------

def test_a_mention_links_to_the_profile_by_the_longest_known_name(app):
    jean, dupont = make_user(name="Jean"), make_user(name="Jean Dupont")
    post = forum.reply(make_thread(), make_user(), "Merci @Jean Dupont, et @jean aussi.")
    assert f'<a href="{profile_path(dupont)}" class="mention"' in post.body_html
    assert f'<a href="{profile_path(jean)}" class="mention"' in post.body_html
    assert ">@Jean Dupont</a>, et" in post.body_html
    assert ">@jean</a> aussi" in post.body_html


@pytest.mark.parametrize("text", [
    "écrivez à jean@example.org",   # an address
    "`@Jean` dans du code",
    "@Jeanne n'existe pas",        # a longer word is another name
    "@Personne",
])
def test_what_is_no_mention_stays_text(app, text):
    make_user(name="Jean")
    post = forum.reply(make_thread(), make_user(), text)
    assert 'class="mention"' not in post.body_html


def test_a_mention_cannot_smuggle_markup(app):
    make_user(name="Jean")
    post = forum.reply(make_thread(), make_user(), '@Jean"><script>alert(1)</script>')
    assert "<script" not in post.body_html
    assert 'class="mention"' in post.body_html


# Who is told ------------------------------------------------------------------------------

def test_the_mentioned_member_is_told_once_per_post_not_for_edits_that_keep_it(app):
    writer, jean, lea = make_user(), make_user(name="Jean"), make_user(name="Léa")
    post = forum.reply(make_thread(), writer, "@Jean regarde, @Jean !")
    assert [(n.kind, n.post_id, n.actor_id) for n in told(jean)] == [
        ("mention", post.id, writer.id)]
    forum.edit_post(post, writer, "@Jean regarde encore, et toi @Léa")
    assert len(told(jean)) == 1
    assert [n.kind for n in told(lea)] == ["mention"]


def test_a_thread_opened_with_a_mention_tells_the_member(app):
    jean = make_user(name="Jean")
    thread = make_thread(body="Bonjour @Jean")
    assert [n.thread_id for n in told(jean, "mention")] == [thread.id]


def test_nobody_is_told_of_their_own_mention_nor_of_a_quoted_one(app):
    jean, lea = make_user(name="Jean"), make_user(name="Léa")
    forum.reply(make_thread(), jean, "Moi, @Jean.\n\n> @Léa disait cela\n\nFin.")
    assert told(jean) == [] and told(lea) == []


def test_a_mention_in_a_staff_board_tells_a_member_nothing(app, client):
    moderator, member = make_user(role="moderator"), make_user(name="Jean")
    admin = make_user(role="admin", name="Alice Admin")
    thread = make_thread(board=make_board(visibility="staff"), author=moderator)
    forum.reply(thread, moderator, "@Jean a signalé ceci, @Alice Admin tu vois ?")
    assert told(member) == []
    assert [n.kind for n in told(admin)] == ["mention"]
    client.login(member.email)
    page = client.get("/notifications").get_data(as_text=True)
    assert thread.title not in page
    assert 'class="bell-count"' not in client.get("/").get_data(as_text=True)


def test_a_mention_in_a_hidden_thread_tells_no_member(app):
    moderator, member = make_user(role="moderator"), make_user(name="Jean")
    thread = make_thread()
    forum.hide_thread(thread, moderator)
    forum.reply(thread, moderator, "@Jean, pour mémoire")
    assert told(member) == []


def test_a_watcher_who_is_mentioned_hears_of_the_mention_alone(app):
    author, writer = make_user(name="Jean"), make_user()
    thread = make_thread(author=author)  # its author watches it
    forum.reply(thread, writer, "Une réponse")
    forum.reply(thread, writer, "Et toi @Jean ?")
    assert [n.kind for n in told(author)] == ["reply", "mention"]


# Quotes -----------------------------------------------------------------------------------

def test_quote_starts_the_reply_form_with_the_post_and_a_link_to_it(app, client, login_as):
    author = make_user(name="Alice")
    thread = make_thread(author=author, body="Le serveur **répond** mal.\nDepuis ce matin.")
    first = db.session.get(Post, thread.first_post_id)
    login_as()
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f'href="/threads/{thread.id}/reply?quote={first.id}"' in page
    form = client.get(f"/threads/{thread.id}/reply?quote={first.id}").get_data(as_text=True)
    body = re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S).group(1)
    assert body.strip().splitlines() == [
        f"&gt; [Alice a écrit](/posts/{first.id}) :", "&gt;",
        "&gt; Le serveur **répond** mal.", "&gt; Depuis ce matin."]


def test_a_quote_joins_the_draft_being_written(app, client, login_as):
    thread = make_thread(author=make_user(name="Alice"), body="Texte cité")
    member = login_as()
    save_draft(member, "Mon début de réponse", thread=thread)
    form = client.get(f"/threads/{thread.id}/reply?quote={thread.first_post_id}")
    body = re.search(r"<textarea[^>]*>(.*?)</textarea>", form.get_data(as_text=True), re.S)
    assert body.group(1).strip().startswith("Mon début de réponse\n\n&gt; [Alice a écrit]")
    assert "&gt; Texte cité" in body.group(1)


def test_quoting_a_post_tells_its_author(app, client, login_as):
    author = make_user(name="Alice")
    thread = make_thread(author=author)
    first = db.session.get(Post, thread.first_post_id)
    replier = login_as()
    response = client.form(f"/threads/{thread.id}/reply", {
        "body": f"> [Alice a écrit](/posts/{first.id}) :\n>\n> First post\n\nMoi aussi."})
    assert response.status_code == 302
    quote = told(author, "quote")
    assert [(n.actor_id, n.thread_id) for n in quote] == [(replier.id, thread.id)]
    assert "<blockquote>" in db.session.get(Post, quote[0].post_id).body_html


def test_a_quote_of_what_the_reader_may_not_see_is_not_offered(app, client, login_as):
    moderator = make_user(role="moderator")
    secret = make_thread(board=make_board(visibility="staff"), author=moderator,
                         body="Mot de passe : hunter2")
    public = make_thread()
    login_as()
    form = client.get(f"/threads/{public.id}/reply?quote={secret.first_post_id}")
    assert form.status_code == 200
    assert "hunter2" not in form.get_data(as_text=True)
    assert client.get(f"/threads/{public.id}/reply?quote=99999999999999").status_code == 200


def test_a_quote_of_a_post_one_may_not_see_tells_nobody(app):
    moderator, member = make_user(role="moderator"), make_user()
    secret = make_thread(board=make_board(visibility="staff"), author=moderator)
    forum.reply(make_thread(), member, f"> [x](/posts/{secret.first_post_id})\n> y\n\nz")
    assert told(moderator, "quote") == []


# Names suggested while typing -------------------------------------------------------------

def names(client, typed) -> list[str]:
    response = client.get("/mentions/suggest", query_string={"q": typed})
    assert response.status_code == 200
    return [member["name"] for member in response.get_json()]


def test_names_are_suggested_after_two_letters_without_addresses(app, client, login_as):
    for name in ("Jean Dupont", "Marie Jeanson", "Paul"):
        make_thread(author=make_user(name=name))
    login_as()
    assert names(client, "j") == []
    assert names(client, "je") == ["Jean Dupont", "Marie Jeanson"]
    assert names(client, "dup") == ["Jean Dupont"]
    response = client.get("/mentions/suggest?q=je")
    assert "@" not in response.get_data(as_text=True)
    assert set(response.get_json()[0]) == {"name", "url"}
    assert names(client, "%") == [] and names(client, "j_") == []


def test_who_wrote_in_the_thread_is_suggested_first(app, client, login_as):
    make_thread(author=make_user(name="Jean Aubert"))
    thread = make_thread(author=make_user(name="Jean Zola"))
    login_as()
    assert names(client, "jean") == ["Jean Aubert", "Jean Zola"]
    response = client.get("/mentions/suggest", query_string={"q": "jean", "thread": thread.id})
    assert [m["name"] for m in response.get_json()] == ["Jean Zola", "Jean Aubert"]
    for odd in ("abc", "99999999999999999999", "-1"):
        assert client.get(f"/mentions/suggest?q=jean&thread={odd}").status_code == 200


def test_members_seen_only_in_staff_boards_are_never_suggested_to_members(app, client):
    moderator = make_user(role="moderator", name="Modeste Secret")
    make_thread(board=make_board(visibility="staff"), author=moderator)
    hidden_writer = make_user(name="Moana Cachée")
    thread = make_thread(author=hidden_writer)
    forum.hide_thread(thread, moderator)
    hidden_reply = forum.reply(make_thread(), make_user(name="Morgane Masquée"), "Spam")
    forum.hide_post(hidden_reply, moderator)
    member = make_user()
    client.login(member.email)
    assert names(client, "mo") == []
    client.logout()
    client.login(make_user(role="admin").email)
    assert names(client, "mo") == ["Moana Cachée", "Modeste Secret", "Morgane Masquée"]


def test_suggestions_need_a_login_and_are_rate_limited(app, client, login_as):
    assert client.get("/mentions/suggest?q=je").status_code == 302
    login_as()
    codes = [client.get("/mentions/suggest?q=je").status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429
