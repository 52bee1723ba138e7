"""The forum's feeds: latest threads of the site and of a board, posts of a thread, as feed
readers see them (tests/feedtools.py reads them, tests/feedsite.py tells the site)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from board.clock import travel
from board.forum import services as forum
from board.forum.models import Post, Thread
from tests.factories import make_board, make_thread, make_user
from tests.feedsite import (
    add_posts,
    move_the_report,
    obj,
    post_ids,
    reply_to_the_question,
    thread_link,
)
from tests.feedtools import (
    BASE,
    FORMATS,
    assert_changed,
    etags,
    hrefs,
    parse,
    read,
    same_time,
    tag,
    with_format,
)

# The right items ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_site_feed_lists_public_threads_newest_first(client, site, fmt):
    feed = read(client, "/feed", fmt)
    assert feed.titles == ["Mise à jour de PHP", "Mes mails n'arrivent plus",
                           "Lenteurs de la messagerie", "Mon site affiche une erreur"]
    assert feed.ids == [tag(f"thread-{i}") for i in (
        site.maintenance_thread, site.report, site.discussion, site.question)]
    question = feed.entry(f"thread-{site.question}")
    assert question.link == thread_link(site.question, site.question_slug)
    assert question.author == "Alice Martin"
    first = obj(Post, site.first_post)
    assert same_time(fmt, question.published, first.created_at)
    assert "vider" not in question.html  # a thread's item is its first post, not its replies
    assert "erreur 500" in question.html
    assert feed.page_url == f"{BASE}/"
    assert [e.published for e in feed.entries] == sorted(
        (e.published for e in feed.entries), reverse=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_board_feed_lists_its_own_threads_only(client, site, fmt):
    feed = read(client, "/boards/general/feed", fmt)
    assert feed.titles == ["Mes mails n'arrivent plus", "Mon site affiche une erreur"]
    assert feed.ids == [tag(f"thread-{site.report}"),
                        tag(f"thread-{site.question}")]
    assert feed.page_url == f"{BASE}/boards/general"
    travaux_board = read(client, "/boards/travaux/feed", fmt)
    assert travaux_board.titles == ["Mise à jour de PHP", "Lenteurs de la messagerie"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_thread_feed_lists_posts_newest_first_with_permalinks(client, site, fmt):
    feed = read(client, f"/threads/{site.question}/feed", fmt)
    assert feed.ids == [tag(f"post-{i}")
                        for i in (site.thanks, site.answer, site.first_post)]
    # The first post carries the thread's title; replies name their author and the thread.
    assert feed.titles[2] == "Mon site affiche une erreur"
    for entry, name in zip(feed.entries[:2], ("Alice Martin", "Bob Durand"), strict=True):
        assert entry.title.startswith(name) and "Mon site affiche une erreur" in entry.title
        assert entry.author == name
    assert [e.link for e in feed.entries] == [
        thread_link(site.question, site.question_slug, anchor=f"#post-{i}")
        for i in (site.thanks, site.answer, site.first_post)]
    for entry, post_id in zip(feed.entries, (site.thanks, site.answer, site.first_post),
                              strict=True):
        post = obj(Post, post_id)
        assert same_time(fmt, entry.published, post.created_at)
        if fmt == "atom":
            assert entry.updated == post.created_at  # never edited
    assert "<strong>vider</strong>" in feed.entry(f"post-{site.answer}").html
    assert feed.page_url == thread_link(site.question, site.question_slug)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_edit_keeps_ids_and_publication_dates_and_moves_atom_updated(client, site, fmt):
    thread_path, site_path = f"/threads/{site.question}/feed", "/feed"
    before = read(client, thread_path, fmt), read(client, site_path, fmt)
    with travel(timedelta(hours=5)):
        forum.edit_post(obj(Post, site.answer), obj(Post, site.answer).author,
                        "Essayez de vider le cache **du navigateur**.")
        forum.edit_post(obj(Post, site.first_post), obj(Post, site.first_post).author,
                        "Erreur 500 sur tout le site.", title="Erreur 500 partout")
    after = read(client, thread_path, fmt), read(client, site_path, fmt)
    for old, new in zip(before, after, strict=True):
        assert new.ids == old.ids
        assert [e.published for e in new.entries] == [e.published for e in old.entries]
    thread_feed, site_feed = after
    edited = thread_feed.entry(f"post-{site.answer}")
    assert "<strong>du navigateur</strong>" in edited.html
    assert edited.link == before[0].entry(f"post-{site.answer}").link.replace(
        site.question_slug, "erreur-500-partout")
    question = site_feed.entry(f"thread-{site.question}")
    assert question.title == "Erreur 500 partout"
    assert "Erreur 500 sur tout le site." in question.html
    if fmt == "atom":
        answer_edited_at = obj(Post, site.answer).edited_at
        assert edited.updated == answer_edited_at
        assert edited.updated > before[0].entry(f"post-{site.answer}").updated
        assert question.updated == obj(Post, site.first_post).edited_at
        assert thread_feed.entry(f"post-{site.thanks}").updated == \
            before[0].entry(f"post-{site.thanks}").updated


@pytest.mark.parametrize("fmt", FORMATS)
def test_thread_feed_links_posts_past_the_first_page_to_their_page(client, app, fmt):
    per_page = app.config["POSTS_PER_PAGE"]
    author = make_user()
    thread = make_thread(author=author, title="Un long sujet")
    thread_id, slug = thread.id, thread.slug
    add_posts(thread_id, [author, make_user()], per_page + 4)
    ids = post_ids(thread_id)
    # A hidden post on page 1 moves the next ones up a place, as on the page a guest sees.
    forum.hide_post(obj(Post, ids[3]), make_user(role="moderator"))
    visible = ids[:3] + ids[4:]
    feed = read(client, f"/threads/{thread_id}/feed", fmt)
    assert feed.ids == [tag(f"post-{i}") for i in reversed(visible)]
    expected = {post_id: thread_link(thread_id, slug, "" if n < per_page else "?page=2",
                                     f"#post-{post_id}") for n, post_id in enumerate(visible)}
    assert {int(e.id.rsplit("-", 1)[1]): e.link for e in feed.entries} == expected
    assert expected[visible[per_page]].endswith(f"?page=2#post-{visible[per_page]}")
    # Each link leads to the page that shows that post.
    for post_id in (visible[0], visible[per_page - 1], visible[per_page], visible[-1]):
        parts = urlsplit(expected[post_id])
        page = client.get(f"{parts.path}?{parts.query}" if parts.query else parts.path)
        assert page.status_code == 200
        assert f'id="post-{post_id}"'.encode() in page.data, expected[post_id]


# What the items say -----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_categories_name_boards_and_official_answers(client, site, fmt):
    rss = fmt == "rss"
    site_feed = read(client, "/feed", fmt)
    question = site_feed.entry(f"thread-{site.question}")
    assert question.labels == ["Questions & réponses"]
    if not rss:
        assert question.categories == ["general"]
    report = site_feed.entry(f"thread-{site.report}")
    assert report.labels == ["Questions & réponses", "Incident officiel"]
    if not rss:
        assert report.categories == ["general", "incident"]

    thread_feed = read(client, f"/threads/{site.report}/feed", fmt)
    relayed = thread_feed.entries[0]  # the relayed "identified" update: an official answer
    assert relayed.labels == ["Questions & réponses", "Réponse officielle"]
    assert thread_feed.entries[-1].labels == ["Questions & réponses"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_authors_are_names(client, site, fmt):
    thread_feed = read(client, f"/threads/{site.question}/feed", fmt)
    assert [e.author for e in thread_feed.entries] == ["Alice Martin", "Bob Durand",
                                                       "Alice Martin"]
    assert [e.get("author") for e in thread_feed.parsed.entries] == [
        "Alice Martin", "Bob Durand", "Alice Martin"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_linked_thread_says_so_and_links_its_incident(client, site, fmt):
    incident_url = f"{BASE}/travaux/incidents/{site.incident}"
    for path in ("/feed", "/boards/general/feed"):
        feed = read(client, path, fmt)
        report = feed.entry(f"thread-{site.report}")
        assert incident_url in hrefs(report.html)
        assert "Incident officiel" in report.labels
        question = feed.entry(f"thread-{site.question}")
        assert not any("/travaux/incidents/" in h for h in hrefs(question.html))
        assert "Incident officiel" not in question.labels
    # In the thread's own feed, every message links the incident, not only relayed updates.
    report_feed = read(client, f"/threads/{site.report}/feed", fmt)
    assert len(report_feed.entries) == 3
    for entry in report_feed.entries:
        assert incident_url in hrefs(entry.html), entry.id
    for entry in read(client, f"/threads/{site.question}/feed", fmt).entries:
        assert not any("/travaux/incidents/" in h for h in hrefs(entry.html))


def test_forum_feed_text_is_in_french(client, site):
    site_feed = read(client, "/feed", "rss")
    assert site_feed.title == "Communauté\u00a0: derniers sujets"
    assert "Incident officiel\u00a0:" in site_feed.entry(f"thread-{site.report}").html
    thread_feed = read(client, f"/threads/{site.question}/feed", "atom")
    assert thread_feed.titles[0] == "Alice Martin dans « Mon site affiche une erreur »"


# Changes and validators ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_the_changed_feeds_show_the_change(client, site, fmt):
    with travel(timedelta(minutes=30)):
        reply_to_the_question(site)
    thread_feed = read(client, f"/threads/{site.question}/feed", fmt)
    assert len(thread_feed.entries) == 4
    assert "Et maintenant ?" in thread_feed.entries[0].html
    make_board(slug="messagerie", name="Messagerie")
    with travel(timedelta(minutes=40)):
        move_the_report(site)
    assert not read(client, "/boards/general/feed", fmt).has(f"thread-{site.report}")
    moved = read(client, "/boards/messagerie/feed", fmt)
    assert moved.ids == [tag(f"thread-{site.report}")]
    assert moved.entries[0].labels[0] == "Messagerie"


@pytest.mark.parametrize("fmt", FORMATS)
def test_moving_a_thread_invalidates_its_own_feed(client, site, fmt):
    path = f"/threads/{site.report}/feed"
    before = etags(client, [path], fmt)
    make_board(slug="messagerie", name="Messagerie")
    with travel(timedelta(minutes=30)):
        move_the_report(site)
    assert_changed(client, before, fmt)


# Private stays private ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_staff_board_and_its_threads_have_no_feed_even_for_staff(client, site, fmt):
    paths = [with_format("/boards/equipe/feed", fmt),
             with_format(f"/threads/{site.secret}/feed", fmt)]
    for path in paths:
        assert client.get(path).status_code == 404
        assert client.head(path).status_code == 404
    response = client.login(site.moderator_email)
    assert response.status_code == 302
    assert client.get("/boards/equipe").status_code == 200  # the page, yes; the feed, no
    for path in paths:
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_hidden_post_leaves_the_thread_feed_at_the_next_request(client, site, fmt):
    path = f"/threads/{site.question}/feed"
    etag = client.get(with_format(path, fmt)).headers["ETag"]
    with travel(timedelta(minutes=30)):
        forum.hide_post(obj(Post, site.answer), make_user(role="moderator"))
    response = client.get(with_format(path, fmt), headers={"If-None-Match": etag})
    assert response.status_code == 200
    feed = parse(response.data, fmt)
    assert feed.ids == [tag(f"post-{i}") for i in (site.thanks, site.first_post)]
    assert b"vider" not in response.data
    # The next post's permalink did not move: it is still on page 1.
    assert feed.entries[0].link.endswith(f"{site.question_slug}#post-{site.thanks}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_hidden_thread_leaves_its_board_and_the_site_feed(client, site, fmt):
    before = etags(client, ["/feed", "/boards/general/feed"], fmt)
    with travel(timedelta(minutes=30)):
        forum.hide_thread(obj(Thread, site.question), make_user(role="moderator"))
    assert_changed(client, before, fmt)
    for path in ("/feed", "/boards/general/feed"):
        feed = read(client, path, fmt)
        assert not feed.has(f"thread-{site.question}")
        assert b"Mon site affiche une erreur" not in feed.raw
    assert client.get(with_format(f"/threads/{site.question}/feed", fmt)).status_code == 404
