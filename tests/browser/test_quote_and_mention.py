"""In Chromium: a member quotes a selection of a post, mentions another member picked from the
suggestions; that member sees the bell count go up and follows the notification to the post."""

from playwright.sync_api import expect

from board.extensions import db
from board.forum.models import Post
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_board, make_thread, make_user


def log_in(page, live_server, user):
    page.goto(f"{live_server}/login")
    page.get_by_label("Adresse e-mail").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    assert page.locator(".user-name").inner_text() == user.name


def test_quote_a_selection_mention_a_member_who_follows_the_bell(app, page, live_server):
    board = make_board(name="Hébergement")
    alice = make_user(name="Alice Martin")
    jean = make_user(name="Jean Dupont")
    thread = make_thread(board=board, author=alice, title="Erreurs 502 le soir",
                         body="Depuis lundi, le site renvoie des erreurs 502 vers 21 h. "
                              "Le reste de la journée tout va bien.")
    make_thread(board=board, author=jean, title="Question sur les sauvegardes")
    bob = make_user(name="Bob")

    log_in(page, live_server, bob)
    page.goto(f"{live_server}/threads/{thread.id}/{thread.slug}")
    # Select a sentence of Alice's post: a "Citer" button appears next to it.
    page.evaluate("""() => {
        const body = document.querySelector('.post .post-body p');
        const text = body.firstChild;
        const start = text.data.indexOf('le site');
        const range = document.createRange();
        range.setStart(text, start);
        range.setEnd(text, text.data.indexOf('21 h') + 4);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
    }""")
    button = page.locator("button.quote-selection")
    button.wait_for(state="visible")
    screenshot(page, "notify-01-quote-selection")
    button.click()
    box = page.get_by_label("Message")
    first = db.session.get(Post, thread.first_post_id)
    quoted = box.input_value()
    assert quoted.startswith(f"> [Alice Martin a écrit](/posts/{first.id}) :\n>\n"
                             "> le site renvoie des erreurs 502 vers 21 h\n\n")
    assert "Le reste de la journée" not in quoted

    # Type a mention: after two letters the suggestions list Jean Dupont.
    box.press("End")
    box.press_sequentially("Pareil chez moi, @Je", delay=30)
    suggestion = page.get_by_role("option", name="Jean Dupont")
    suggestion.wait_for(state="visible")
    screenshot(page, "notify-02-mention-suggestions")
    box.press("Enter")
    box.press_sequentially("tu as vu ?")
    assert box.input_value().endswith("Pareil chez moi, @Jean Dupont tu as vu ?")
    page.get_by_role("button", name="Envoyer la réponse").click()
    reply = page.locator(".post").nth(1)
    assert reply.locator("blockquote").inner_text().strip().endswith("vers 21 h")
    assert reply.locator("a.mention").inner_text() == "@Jean Dupont"
    screenshot(page, "notify-03-reply-posted")

    # Jean sees the bell ring and follows it to the post.
    page.context.clear_cookies()
    log_in(page, live_server, jean)
    assert page.locator(".bell-count").inner_text() == "1"
    screenshot(page, "notify-04-bell")
    page.locator("a.bell").click()
    screenshot(page, "notify-05-notifications")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "notify-05b-notifications-on-a-phone")
    page.set_viewport_size({"width": 1200, "height": 900})
    page.get_by_role("link", name="Bob vous a mentionné dans « Erreurs 502 le soir »").click()
    reply_id = db.session.scalar(db.select(Post.id).where(Post.thread_id == thread.id)
                                 .order_by(Post.id.desc()))
    assert page.url.endswith(f"#post-{reply_id}")
    expect(page.locator(".bell-count")).to_have_count(0)  # reading the thread marked it read
    screenshot(page, "notify-06-at-the-post")


def test_the_account_page_chooses_how_each_kind_is_told(app, page, live_server):
    member = make_user(name="Jean Dupont")
    log_in(page, live_server, member)
    page.goto(f"{live_server}/notifications")
    assert "Rien de nouveau" in page.locator("main").inner_text()
    page.get_by_role("link", name="votre compte").click()
    card = page.locator("#notifications")
    card.get_by_label("Mentions de mon nom").select_option("mail")
    card.get_by_role("button", name="Enregistrer").click()
    assert "préférences de notification sont enregistrées" in page.locator(".flashes").inner_text()
    card = page.locator("#notifications")
    assert card.get_by_label("Mentions de mon nom").input_value() == "mail"
    card.scroll_into_view_if_needed()
    screenshot(page, "notify-07-account-preferences")
