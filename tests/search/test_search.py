"""/search through the test client: French matching, filters, sorting, keyset pages, hostile
text, the index kept current by every write, a bounded number of queries, OpenSearch."""

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from board.clock import now, travel
from board.extensions import db
from board.forum import services as forum
from board.forum.models import Post, Thread
from board.lists import services as lists
from board.lists.models import MailingList
from board.search import services as search
from board.search.models import SearchEntry
from board.travaux import services as travaux
from board.urls import site_context
from tests.conftest import count_queries
from tests.factories import make_board, make_thread, make_user
from tests.search.conftest import results
from tests.travaux.factories import make_incident, make_service, post_update


def found(client, **args):
    return results(client.get("/search", query_string=args))


def test_a_word_finds_the_thread_whose_post_holds_it(client):
    make_thread(title="Souci d'affichage", body="Le tableau de bord reste tout blanc.")
    make_thread(title="Autre chose", body="Rien à voir.")
    assert found(client, q="blanc") == ["thread:Souci d'affichage"]


@pytest.mark.parametrize("typed", ["panne reseau", "PANNE RÉSEAU", "pannes réseaux",
                                   "Pannes Reseaux"])
def test_accents_case_and_plurals_do_not_matter(client, typed):
    make_thread(title="Panne réseau à Lyon", body="Plus rien ne répond.")
    assert found(client, q=typed) == ["thread:Panne réseau à Lyon"]


def test_the_stemmer_joins_forms_of_a_word(client):
    make_thread(title="Renouvellement du certificat", body="Il faut le renouveler chaque année.")
    assert found(client, q="renouveler certificats") == ["thread:Renouvellement du certificat"]
    assert found(client, q="restaurer") == []


def test_a_long_query_gets_a_clear_message(client):
    make_thread(title="Panne", body="Une panne.")
    assert found(client, q="panne " * 33) == ["thread:Panne"]
    response = client.get("/search", query_string={"q": "panne " * 34})
    assert response.status_code == 400
    assert "trop longue : 200 caractères au plus" in response.get_data(as_text=True)


def test_stop_words_alone_get_a_clear_message(client):
    response = client.get("/search", query_string={"q": "sur le de la"})
    assert response.status_code == 400
    assert "Saisissez un ou plusieurs mots" in response.get_data(as_text=True)


def test_an_error_code_and_a_server_name_are_words(client):
    make_thread(title="Site en panne", body="Erreur 503 sur web7 depuis ce matin.")
    make_thread(title="Autre panne", body="Erreur 500 sur web8.")
    assert found(client, q="503") == ["thread:Site en panne"]
    assert found(client, q="web7") == ["thread:Site en panne"]


def test_the_snippet_is_escaped_and_marks_the_words(client):
    make_thread(title="Balises", body="Mon <script>alert(1)</script> affiche une erreur 503.")
    page = client.get("/search", query_string={"q": "erreur"}).get_data(as_text=True)
    assert "<mark>erreur</mark>" in page
    assert "<script>alert" not in page


def test_incidents_are_found_by_title_and_updates(client):
    service = make_service(name="Messagerie")
    incident = make_incident(title="Envois retardés", services=[service],
                             message="La file est bloquée.")
    post_update(incident, incident.author, "identified", "Un filtre anti-spam saturé.")
    assert "incident:Envois retardés" in found(client, q="saturé")
    assert found(client, q="saturé", kind="incident") == ["incident:Envois retardés"]
    page = client.get("/search", query_string={"q": "retardés", "kind": "incident"})
    assert "Travaux : Messagerie" in page.get_data(as_text=True)


def _send(subject, body):
    admin = make_user(role="admin")
    mailing_list = db.session.query(MailingList).filter_by(slug="informations").one()
    message = lists.compose(mailing_list, admin, subject, body)
    lists.approve(message, admin)
    with site_context():
        lists.fan_out({"message_id": message.id})
    db.session.commit()
    return message


def test_list_messages_are_found_once_sent(client):
    _send("Assemblée générale", "Rendez-vous le 12 mars pour l'assemblée.")
    admin = make_user(role="admin")
    mailing_list = db.session.query(MailingList).filter_by(slug="informations").one()
    lists.compose(mailing_list, admin, "Assemblée extraordinaire", "Encore retenue.")
    assert found(client, q="assemblée") == ["list:Assemblée générale"]
    assert found(client, q="assemblée", kind="list") == ["list:Assemblée générale"]


def test_filters_board_kind_and_status(client):
    web, mail = make_board(slug="web", name="Web"), make_board(slug="courriel", name="Courriel")
    make_thread(board=web, title="Lenteur du site", body="Tout est lent.")
    make_thread(board=mail, title="Lenteur du webmail", body="Tout est lent.")
    incident = make_incident(title="Lenteur générale", message="Tout est lent.")
    assert found(client, q="lent", board="web") == ["thread:Lenteur du site"]
    assert "incident:Lenteur générale" not in found(client, q="lent", kind="thread")
    assert found(client, q="lent", status="resolved") == []
    post_update(incident, incident.author, "resolved", "Réglé.")
    resolved = found(client, q="lent", status="resolved")
    assert "incident:Lenteur générale" in resolved
    assert "thread:Lenteur du site" not in resolved
    assert "thread:Lenteur du site" in found(client, q="lent", status="open")


def test_a_service_narrows_to_its_incidents_and_their_reports(client):
    mail, web = make_service(slug="mail", name="Messagerie"), make_service(slug="web")
    make_incident(title="Coupure des mails", services=[mail], message="Coupure.")
    make_incident(title="Coupure des sites", services=[web], message="Coupure.")
    make_thread(title="Coupure chez moi", body="Coupure.")
    # The incident's discussion thread counts for the incident (test below).
    assert found(client, q="coupure", service="mail") == ["incident:Coupure des mails"]
    assert found(client, q="coupure", service="mail", kind="thread") == [
        "thread:Coupure des mails"]


def test_an_incident_is_found_once_with_its_discussion_and_a_promoted_report_stays_one(
        client):
    """The thread Travaux opens for an incident says what the incident says: found through
    its title, its relayed updates or its members' replies, it is the incident that comes
    back, once. A member's report that was promoted is still a report of its own; threads
    alone, or one board, still list the discussion thread."""
    incident = make_incident(title="Coupure des mails", message="Nous regardons.")
    forum.reply(db.session.get(Thread, incident.source_thread_id), make_user(),
                "Toujours rien chez moi depuis ce matin, la messagerie refuse tout.")
    report = make_thread(title="Plus de messagerie", body="La messagerie ne répond plus.")
    with site_context():
        travaux.promote(report, make_user(role="admin"), kind="incident",
                        title="Messagerie en panne",
                        impact="major", services=[], message="Nous regardons la messagerie.")
    assert found(client, q="coupure") == ["incident:Coupure des mails"]
    assert found(client, q="toujours rien ce matin") == ["incident:Coupure des mails"]
    assert sorted(found(client, q="messagerie")) == [
        "incident:Coupure des mails", "incident:Messagerie en panne",
        "thread:Plus de messagerie"]
    discussion = db.session.get(Thread, incident.source_thread_id)
    assert found(client, q="coupure", kind="thread") == ["thread:Coupure des mails"]
    assert found(client, q="coupure", board=discussion.board.slug) == [
        "thread:Coupure des mails"]


@pytest.mark.parametrize("args", [{"kind": "incident", "board": "web"},
                                  {"kind": "list", "status": "open"},
                                  {"kind": "list", "service": "mail"}])
def test_filters_that_leave_nothing_to_search_find_nothing(client, args):
    make_thread(title="Coupure", body="Coupure.")
    assert found(client, q="coupure", **args) == []


def test_dates_narrow_the_search_and_a_bad_date_is_said(client):
    with travel(-timedelta(days=40)):
        make_thread(title="Vieille panne", body="Coupure.")
    make_thread(title="Nouvelle panne", body="Coupure.")
    since = (now() - timedelta(days=10)).date().isoformat()
    until = (now() - timedelta(days=30)).date().isoformat()
    assert found(client, q="coupure", **{"from": since}) == ["thread:Nouvelle panne"]
    assert found(client, q="coupure", to=until) == ["thread:Vieille panne"]
    response = client.get("/search", query_string={"q": "coupure", "from": "31/02/2026"})
    assert response.status_code == 400
    assert "n'est pas une date" in unescape(response.get_data(as_text=True))


def test_sort_by_date_puts_the_latest_first(client):
    with travel(-timedelta(days=3)):
        make_thread(title="Panne panne panne", body="Panne, panne et panne.")
    make_thread(title="Récent", body="Une panne.")
    assert found(client, q="panne")[0] == "thread:Panne panne panne"
    assert found(client, q="panne", sort="date") == ["thread:Récent", "thread:Panne panne panne"]


def test_among_equals_this_mornings_report_comes_before_last_springs(client):
    board, author = make_board(), make_user()
    # Written newest first: without freshness, equals would come newest id first, the oldest.
    forum.open_thread(board, author, "Messagerie en panne, Paris", "Plus de courriels reçus.")
    with travel(-timedelta(days=20)):
        forum.open_thread(board, author, "Messagerie en panne, Lyon", "Plus de courriels reçus.")
    with travel(-timedelta(days=300)):
        forum.open_thread(board, author, "Messagerie en panne, Brest", "Plus de courriels reçus.")
    assert found(client, q="messagerie panne") == [
        "thread:Messagerie en panne, Paris", "thread:Messagerie en panne, Lyon",
        "thread:Messagerie en panne, Brest"]


@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_keyset_pages_cover_every_result_once(app, client, sort):
    app.config["SEARCH_PER_PAGE"] = 4
    try:
        board, author = make_board(), make_user()
        for n in range(10):
            with travel(-timedelta(hours=n)):
                forum.open_thread(board, author, f"Coupure numéro {n}", "coupure " * (n % 3 + 1))
        seen, args, pages = [], {"q": "coupure", "sort": sort}, 0
        while True:
            response = client.get("/search", query_string=args)
            page = response.get_data(as_text=True)
            seen += results(response)
            pages += 1
            assert ('rel="first"' in page) == (pages > 1)
            if 'rel="next"' not in page:
                break
            args["after"] = _next_cursor(page)
        assert pages == 3
        assert sorted(seen) == sorted(f"thread:Coupure numéro {n}" for n in range(10))
    finally:
        app.config.pop("SEARCH_PER_PAGE")


def _next_cursor(page: str) -> str:
    link = page.split('rel="next"')[0].rsplit("<a href=\"", 1)[1]
    return link.split("after=")[1].split("&")[0].split('"')[0]


@pytest.mark.parametrize("typed", [
    "AND", "OR", "NOT", "NEAR", "NEAR(a b)", "*", '"', '"""', "-", "- -", "a*", "^panne",
    "panne AND", "panne OR", "col:panne", "\x00", "panne\x00reseau", "😀", "\u200f\u202e",
    "x" * 10_000, "panne " * 3000, "(((", "title_terms:panne", "'; DROP TABLE posts; --",
    "\ue000panne\ue001", "<mark>", "\\", "%", "_",
])
def test_hostile_query_text_never_breaks_the_page(client, typed):
    make_thread(title="Panne", body="Une panne réseau.")
    response = client.get("/search", query_string={"q": typed})
    assert response.status_code in (200, 400), response.data[:500]
    assert "Traceback" not in response.get_data(as_text=True)
    if response.status_code == 400:
        # The search says why in the page; a NUL byte is refused before any view runs, with
        # the site's styled 400 page (board/inputs.py).
        page = response.get_data(as_text=True)
        assert 'class="flash flash-error"' in page or "Requête incorrecte" in page


@pytest.mark.parametrize("after", ["nonsense", "e30", "WzEsMiwzXQ",
                                   "W251bGwsInRocmVhZCIsMSxmYWxzZV0", "x" * 500,
                                   "WzEsInRocmVhZCIsMSxmYWxzZV0",  # from before freshness, no day
                                   "WzEsInRocmVhZCIsMSxmYWxzZSw5OTk5OTk5OTk5OV0"])  # a day far off
def test_a_broken_cursor_is_a_clear_400(client, after):
    make_thread(title="Panne", body="Une panne.")
    response = client.get("/search", query_string={"q": "panne", "after": after})
    assert response.status_code == 400
    assert "recommencez la recherche" in unescape(response.get_data(as_text=True))


def test_edits_re_index_and_new_posts_are_found_at_once(client):
    thread = make_thread(title="Titre d'origine", body="Texte d'origine.")
    post = forum.reply(thread, make_user(), "Une réponse sur la sauvegarde.")
    assert found(client, q="sauvegarde") == ["thread:Titre d'origine"]
    forum.edit_post(post, post.author, "Finalement rien.")
    first = db.session.get(Post, forum.first_post_id(thread))
    forum.edit_post(first, thread.author, "Texte modifié.", title="Titre corrigé")
    assert found(client, q="sauvegarde") == []
    assert found(client, q="origine") == []
    assert found(client, q="corrigé") == ["thread:Titre corrigé"]
    assert found(client, q="modifié") == ["thread:Titre corrigé"]


def test_reindex_rebuilds_what_bulk_inserts_missed(app, client, runner):
    make_thread(title="Panne du stockage", body="Disque lent.")
    db.session.query(SearchEntry).delete()
    db.session.commit()
    assert found(client, q="stockage") == []
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 entries" in result.output
    assert found(client, q="stockage") == ["thread:Panne du stockage"]


def test_reindex_writes_the_entries_oldest_first_whatever_their_source(app, runner):
    """The search weighs the newest matches by entry id on SQLite: a rebuilt index keeps
    ids in time order across threads, posts, incidents and updates."""
    thread = make_thread(title="Panne ancienne", body="Premier message.")
    with travel(timedelta(minutes=5)):
        incident = make_incident(title="Panne du stockage")
    with travel(timedelta(minutes=10)):
        forum.reply(thread, thread.author, "Toujours en panne.")
    before = db.session.execute(select(SearchEntry.source, SearchEntry.source_id)
                                .order_by(SearchEntry.id)).all()
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    rows = db.session.execute(select(SearchEntry.source, SearchEntry.source_id,
                                     SearchEntry.created_at).order_by(SearchEntry.id)).all()
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    assert [(r.source, r.source_id) for r in rows] == list(before)
    assert rows[-1].source == "post" and ("incident", incident.id) in [r[:2] for r in rows]


def test_bench_seed_leaves_an_index_ready(client, runner):
    result = runner.invoke(args=["bench", "seed", "--threads", "20", "--posts-per-thread", "3",
                                 "--incidents", "2"])
    assert result.exit_code == 0, result.output
    assert len(found(client, q="web7")) > 3
    assert "incident:Incident 2 : lenteurs" in found(client, q="lenteurs", kind="incident")


def test_a_search_costs_the_same_queries_whatever_the_results(app, client):
    app.config["SEARCH_PER_PAGE"] = 100
    try:
        service = make_service()
        make_incident(title="Coupure générale", services=[service], message="Coupure.")
        _send("Coupure prévue", "Une coupure.")
        make_thread(title="Coupure", body="coupure")
        client.get("/search", query_string={"q": "coupure"})
        with count_queries() as few:
            client.get("/search", query_string={"q": "coupure"})
        board, author = make_board(), make_user()
        for n in range(30):
            thread = forum.open_thread(board, author, f"Coupure {n}", "coupure")
            forum.reply(thread, author, "encore une coupure")
        for n in range(5):
            make_incident(title=f"Coupure {n}", services=[service], message="Coupure.")
            _send(f"Coupure {n}", "coupure")
        client.get("/search", query_string={"q": "coupure"})  # the banner, drawn again
        with count_queries() as many:
            response = client.get("/search", query_string={"q": "coupure"})
        shown = results(response)
        # 31 threads, 6 incidents (each found once with its discussion thread), 6 messages.
        assert len(shown) == 43
        assert {r.split(":")[0] for r in shown} == {"thread", "incident", "list"}
        assert len(many) == len(few), "\n\n".join(few + ["-----"] + many)
        print(f"\nqueries for one search page ({db.engine.dialect.name}): {len(many)}")
        assert len(many) <= 10
    finally:
        app.config.pop("SEARCH_PER_PAGE")


def test_the_search_service_never_commits_and_pages_by_cursor(app):
    board, author = make_board(), make_user()
    for n in range(3):
        forum.open_thread(board, author, f"Coupure {n}", "coupure")
    with app.test_request_context():
        first = search.search(search.Query("coupure"), author, per_page=2)
        assert len(first.results) == 2 and first.next_cursor
        last = search.search(search.Query("coupure", after=first.next_cursor), author, per_page=2)
    assert len(last.results) == 1 and last.next_cursor is None
    assert {r.id for r in first.results} | {r.id for r in last.results} == {
        t.id for t in board_threads(board)}


def board_threads(board):
    return db.session.query(Thread).filter_by(board_id=board.id).all()


def test_the_opensearch_description_points_at_the_search(client):
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.content_type.startswith("application/opensearchdescription+xml")
    body = response.get_data(as_text=True)
    assert 'template="http://board.test/search?q={searchTerms}"' in body
    assert "<ShortName>" in body
    home = client.get("/").get_data(as_text=True)
    assert 'rel="search" type="application/opensearchdescription+xml"' in home
    assert 'action="/search"' in home


def test_the_search_is_rate_limited_per_visitor(app, client):
    make_thread(title="Panne", body="Une panne.")
    statuses = [client.get("/search", query_string={"q": "panne"}).status_code
                for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429


def test_a_word_found_everywhere_weighs_only_a_bounded_number_of_entries(app):
    """The cap: on PostgreSQL the newest matches are ranked (ranking all of a word found
    nearly everywhere cost seconds at a million posts); FTS5 ranks them all and keeps the
    best. Sorted by date, both give exactly the newest."""
    board, author = make_board(), make_user()
    # Each thread has two entries (its title, its post): a cap of 8 entries is 4 threads.
    for n in range(6):
        forum.open_thread(board, author, f"Partout {n}", "partout " * (n + 1))
    with app.test_request_context():
        capped = search.search(search.Query("partout"), author, per_page=20, max_hits=8)
        by_date = search.search(search.Query("partout", sort="date"), author, per_page=20,
                                max_hits=8)
        tight = search.search(search.Query("partout"), author, per_page=20, max_hits=3)
        every = search.search(search.Query("partout"), author, per_page=20)
    assert 1 <= len(tight.results) <= 3 and tight.next_cursor is None
    titles = {r.title for r in capped.results}
    if db.engine.dialect.name == "postgresql":
        assert titles == {f"Partout {n}" for n in (2, 3, 4, 5)}
    assert [r.title for r in by_date.results] == [f"Partout {n}" for n in (5, 4, 3, 2)]
    assert len(every.results) == 6
