"""A member about to report a known problem is shown it while typing the title, and says
"me too" in one click instead of opening one more thread (search's similar reports)."""

from sqlalchemy import func, select

from board.extensions import db
from board.forum.models import Thread
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_board, make_thread, make_user
from tests.travaux.factories import make_incident, make_service


def test_a_member_typing_a_known_problem_joins_the_existing_report(live_server, page):
    board = make_board(slug="hebergement-web", name="Hébergement web")
    web = make_service(slug="web", name="Hébergement web")
    make_incident(services=[web], title="Erreurs 503 sur le serveur web7")
    report = make_thread(board=board, author=make_user(name="Paul"),
                         title="Erreur 503 sur mon site depuis ce matin")
    member = make_user(name="Nadia")
    threads_before = db.session.scalar(select(func.count(Thread.id)))

    page.goto(f"{live_server}/login")
    page.get_by_label("Adresse e-mail").fill(member.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"{live_server}/boards/{board.slug}/new")
    # With JavaScript the box comes live, so the button publishes at once.
    assert page.get_by_role("button", name="Publier").is_visible()
    page.get_by_label("Titre").press_sequentially("mon site affiche 503", delay=20)
    box = page.locator(".similar-box")
    box.wait_for()
    assert "Erreurs 503 sur le serveur web7" in box.inner_text()
    assert report.title in box.inner_text()
    screenshot(page, "similar-reports-while-typing")

    box.get_by_role("listitem").filter(has_text=report.title).get_by_role(
        "button", name="Je suis concerné aussi").click()
    page.wait_for_url(f"**/threads/{report.id}/**")
    assert page.locator("h1").inner_text().startswith(report.title)
    assert "Vous et 1 autre membre êtes concernés" in page.locator(".affected-count").inner_text()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Thread.id))) == threads_before
