"""A member flags a post from its thread; a moderator finds it in the queue from the staff
bar and hides it with one click."""

from playwright.sync_api import expect
from sqlalchemy import select

from board.audit import AuditLog
from board.extensions import db
from board.forum import services as forum
from board.forum.flags import Flag
from board.forum.models import Post
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_thread, make_user


def log_in(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_a_member_flags_a_post_and_a_moderator_hides_it_from_the_queue(live_server, page):
    thread = make_thread(title="Limite de mémoire PHP", body="Comment monter memory_limit ?")
    spammer = make_user(name="Vendeur de montres")
    advert = forum.reply(thread, spammer, "Des montres à -90 % sur montres.example !")
    member = make_user(name="Sophie M.")
    moderator = make_user(role="moderator", name="Luc (modération)")

    log_in(page, live_server, member.email)
    page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
    reply = page.locator(f"#post-{advert.id}")
    assert reply.get_by_role("link", name="Vendeur de montres").get_attribute(
        "href").startswith(f"/members/{spammer.id}-")
    screenshot(page, "flag-00-thread")
    reply.get_by_role("link", name="Signaler").click()
    page.get_by_label("Spam ou publicité").check()
    page.get_by_label("Détails").fill("Publicité pour un site de montres.")
    screenshot(page, "flag-01-form")
    page.get_by_role("button", name="Signaler le message").click()
    assert "le message est signalé" in page.locator(".flashes").inner_text()
    db.session.rollback()
    assert db.session.scalar(select(Flag.reason)) == "spam"

    page.get_by_role("button", name="Se déconnecter").click()
    log_in(page, live_server, moderator.email)
    staff_link = page.locator(".staff-bar").get_by_role("link", name="Messages signalés")
    assert staff_link.locator(".count-badge").inner_text() == "1"
    staff_link.click()
    item = page.locator(f"#flagged-{advert.id}")
    assert "Publicité pour un site de montres." in item.inner_text()
    assert "Spam ou publicité × 1" in item.inner_text()
    screenshot(page, "flag-02-queue")
    item.get_by_role("button", name="Masquer le message").click()
    assert "masqué" in page.locator(".flashes").inner_text()
    assert "Aucun message signalé n’attend." in page.locator("main").inner_text()
    expect(page.locator(".staff-bar .count-badge")).to_have_count(0)
    screenshot(page, "flag-03-queue-done")

    db.session.rollback()
    assert db.session.get(Post, advert.id).hidden_by_id == moderator.id
    assert db.session.scalar(select(AuditLog.action)) == "flag.hide"

    page.goto(f"{live_server}/members/{spammer.id}")
    assert page.locator("h1").inner_text() == "Vendeur de montres"
    assert "Historique de modération" in page.locator("main").inner_text()
    screenshot(page, "flag-04-profile-for-staff")


def test_a_member_writes_a_bio_and_reads_their_profile(live_server, page):
    member = make_user(name="Élodie R.")
    make_thread(author=member, title="Certificat non renouvelé")
    log_in(page, live_server, member.email)
    page.goto(live_server + "/account")
    page.get_by_label("À propos de moi").fill("Webmestre, j'aime **WordPress**.")
    screenshot(page, "profile-01-account-bio")
    page.locator(".bio-section").get_by_role("button", name="Enregistrer").click()
    assert "présentation est enregistrée" in page.locator(".flashes").inner_text()
    page.get_by_role("link", name="Voir mon profil").click()
    assert page.locator(".profile-bio strong").inner_text() == "WordPress"
    expect(page.get_by_role("img", name="Avatar de Élodie R.")).to_have_count(1)
    assert "Certificat non renouvelé" in page.locator("main").inner_text()
    assert "Pour l’équipe" not in page.locator("main").inner_text()
    screenshot(page, "profile-02-own-profile")
