"""In a real browser: the author of a help thread marks the reply that solved it; the thread
shows the solution under its first post and its board says "Résolu"; a member who had read
the thread sees its new messages counted in the board, follows the link to the first one,
and marks the board read."""

from playwright.sync_api import expect

from board.extensions import db
from board.forum import services as forum
from tests.browser.conftest import screenshot
from tests.browser.test_account_security import log_in
from tests.factories import make_board, make_thread, make_user


def test_mark_a_solution_and_see_it_in_the_board(live_server, browser, page):
    alice, carl = make_user(name="Alice"), make_user(name="Carl")
    reader = make_user(name="Nadia", email="nadia@example.org")
    board = make_board(slug="entraide", name="Entraide")
    board.solvable = True
    db.session.commit()
    thread = make_thread(board=board, author=alice, title="Certificat expiré",
                         body="Mon certificat a expiré hier, le renouvellement est coché.")
    forum.reply(thread, carl, "Un vieil enregistrement **AAAA** pointe ailleurs : "
                              "supprimez-le et relancez le renouvellement.")
    make_thread(board=board, author=carl, title="Autre question")

    # Nadia reads the thread before the answer that solves it arrives.
    other = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
    try:
        nadia = other.new_page()
        log_in(nadia, live_server, reader.email)
        nadia.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
        answer = forum.reply(thread, alice, "C'était bien ça, merci Carl !")

        log_in(page, live_server, alice.email)
        page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
        carl_post = page.locator(".post").nth(1)
        carl_post.get_by_role("button", name="Marquer comme la solution").click()
        assert "marquée comme la solution" in page.locator(".flashes").inner_text()
        box = page.locator(".solution-box")
        assert "vieil enregistrement AAAA" in box.inner_text()
        assert "par Carl" in box.inner_text()
        assert "Cette réponse a résolu le problème" in carl_post.inner_text()
        screenshot(page, "solution-thread")

        page.get_by_role("link", name="Entraide").first.click()
        row = page.locator("tr", has_text="Certificat expiré")
        assert "Résolu" in row.locator(".badge-solved").text_content()

        nadia.goto(f"{live_server}/boards/entraide")
        row = nadia.locator("tr", has_text="Certificat expiré")
        assert "Résolu" in row.text_content()
        link = row.get_by_role("link", name="1 nouveau message")
        other_row = nadia.locator("tr", has_text="Autre question")
        expect(other_row.locator(".badge-new")).to_have_count(1)
        screenshot(nadia, "solution-board-unread")
        link.click()
        assert nadia.url.endswith(f"#post-{answer.id}")
        nadia.go_back()
        nadia.get_by_role("button", name="Tout marquer comme lu").click()
        assert "marqués comme lus" in nadia.locator(".flashes").inner_text()
        expect(nadia.locator(".badge-new, .unread-link")).to_have_count(0)
        nadia.goto(live_server + "/")
        nadia.get_by_role("button", name="Tout marquer comme lu").click()
        assert "Tous les sujets sont marqués comme lus" in nadia.locator(".flashes").inner_text()
        screenshot(nadia, "unread-index")
    finally:
        other.close()
