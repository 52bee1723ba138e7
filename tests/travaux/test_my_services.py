"""My services: a member chooses the services they use; Travaux puts them first, or alone."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from board.clock import now
from board.extensions import db
from board.travaux import mine
from board.travaux.models import Service
from tests.factories import make_thread, make_user
from tests.travaux.factories import make_incident, make_service, post_update

ONLY_MINE = "/travaux/show/mine"
ALL = "/travaux/show/all"


@pytest.fixture
def catalogue(app):
    """Three services, an incident on each of two, one naming no service, an upcoming
    maintenance on the third, and an old resolved incident on the second."""
    web = make_service(slug="web", name="Hébergement web", position=1)
    mail = make_service(slug="mail", name="Messagerie", position=2)
    dns = make_service(slug="dns", name="DNS", position=3)
    admin = make_user(role="admin")
    soon = now() + timedelta(days=2)
    ops = {
        "web": make_incident(admin, services=[web], title="Sites lents"),
        "mail": make_incident(admin, services=[mail], title="Courriels en retard"),
        "everyone": make_incident(admin, title="Panne générale du réseau"),
        "dns": make_incident(admin, kind="maintenance", services=[dns], title="Mise à jour DNS",
                             window=(soon, soon + timedelta(hours=1))),
        "old": make_incident(admin, services=[mail], title="Ancienne panne de messagerie"),
    }
    post_update(ops["old"], admin, "resolved", "Réparé.")
    return {"web": web, "mail": mail, "dns": dns, "ops": ops}


def chosen_by(user) -> set[str]:
    db.session.rollback()  # see what the requests committed
    return set(db.session.scalars(select(Service.slug).join(
        mine.member_services, mine.member_services.c.service_id == Service.id)
        .where(mine.member_services.c.user_id == user.id)))


def choose(client, *services, next_url="/account"):
    return client.form("/account/services", {"services": [s.id for s in services],
                                             "next": next_url})


def order_of(body: str, *titles: str) -> list[str]:
    """The titles, in the order the page shows them first."""
    return sorted(titles, key=body.index)


# Choosing ------------------------------------------------------------------------------

def test_a_member_chooses_their_services_on_the_account_page(client, login_as, catalogue):
    member = login_as("member")
    page = client.get("/account").get_data(as_text=True)
    assert "Mes services" in page and 'action="/account/services"' in page
    assert all(name in page for name in ("Hébergement web", "Messagerie", "DNS"))

    response = choose(client, catalogue["mail"], catalogue["dns"])
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert chosen_by(member) == {"mail", "dns"}
    page = client.get("/account").get_data(as_text=True)
    assert "Vos services sont enregistrés." in page
    checked = re.findall(r'<input[^>]*checked[^>]*value="(\d+)"|'
                         r'<input[^>]*value="(\d+)"[^>]*checked', page)
    assert {int(a or b) for a, b in checked} == {catalogue["mail"].id, catalogue["dns"].id}

    choose(client)  # none at all is an answer too
    assert chosen_by(member) == set()


def test_a_service_not_offered_or_a_missing_token_changes_nothing(client, login_as, catalogue):
    member = login_as("member")
    choose(client, catalogue["web"])
    assert client.form("/account/services", {"services": ["999999"]}).status_code == 400
    assert client.form("/account/services", {"services": ["web"]}).status_code == 400
    assert client.post("/account/services",
                       data={"services": [catalogue["mail"].id]}).status_code == 400
    assert chosen_by(member) == {"web"}


def test_a_guest_is_asked_to_log_in(client, catalogue):
    response = client.get("/account/services")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.form("/account/services", {"services": [catalogue["web"].id]}
                       ).status_code in (302, 401)


def test_the_account_page_has_no_card_when_there_is_no_service(client, login_as):
    login_as("member")
    assert "Mes services" not in client.get("/account").get_data(as_text=True)


def test_after_confirming_their_address_a_member_is_asked_for_their_services(client,
                                                                             catalogue):
    client.form("/register", {"email": "nina@example.org", "name": "Nina",
                              "password": "une phrase de passe solide"})
    from board.outbox.models import OutboxMessage
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    token = re.search(r"/confirm/(\S+)", mail.payload["text"]).group(1)

    confirmed = client.form(f"/confirm/{token}")
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/login?next=/account/services"
    logged_in = client.form("/login?next=/account/services",
                            {"email": "nina@example.org", "password": "une phrase de passe solide"})
    assert logged_in.headers["Location"] == "/account/services"
    step = client.get("/account/services").get_data(as_text=True)
    assert "Quels services utilisez-vous\u00a0?" in step
    assert 'href="/">Passer cette étape</a>' in step
    response = choose(client, catalogue["web"], next_url="/")
    assert response.headers["Location"] == "/"
    nina = db.session.scalar(select(mine.member_services.c.user_id))
    assert nina is not None


def test_the_step_is_skipped_when_there_is_nothing_to_choose(client, login_as):
    login_as("member")
    response = client.get("/account/services?next=/boards")
    assert response.status_code == 302 and response.headers["Location"] == "/boards"


def test_a_deleted_account_takes_its_services_along(client, login_as, catalogue):
    member = login_as("member", confirmed=False)
    choose(client, catalogue["web"])
    assert chosen_by(member) == {"web"}
    client.form("/account/delete", {"password": "correct horse battery"})
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(mine.member_services)) == 0


# The status page --------------------------------------------------------------------------

def test_the_status_page_puts_my_services_first_then_shows_them_alone(client, login_as,
                                                                      catalogue):
    login_as("member")
    choose(client, catalogue["mail"])
    body = client.get("/travaux/").get_data(as_text=True)
    assert order_of(body, "Sites lents", "Courriels en retard") == [
        "Courriels en retard", "Sites lents"]
    services = body[body.index('id="services-title"'):]
    assert order_of(services, "Hébergement web", "Messagerie") == ["Messagerie",
                                                                   "Hébergement web"]
    assert "mon service" in services
    assert "Vos services d’abord." in body

    switch = client.get(ONLY_MINE + "?next=/travaux/")
    assert switch.status_code == 302 and switch.headers["Location"] == "/travaux/"
    assert any(c.startswith(f"{mine.ONLY_MINE_COOKIE}=1")
               for c in switch.headers.getlist("Set-Cookie"))
    body = client.get("/travaux/").get_data(as_text=True)
    assert "Courriels en retard" in body and "Sites lents" not in body
    assert "Panne générale du réseau" in body  # names no service: it concerns everyone
    assert "Mise à jour DNS" not in body
    assert "Ancienne panne de messagerie" in body  # history, narrowed the same way
    assert "Hébergement web" not in body[body.index('id="services-title"'):]
    assert "Afficher tous les services" in body

    back = client.get(ALL + "?next=/travaux/")
    assert any(c.startswith(f"{mine.ONLY_MINE_COOKIE}=;")
               for c in back.headers.getlist("Set-Cookie"))
    assert "Sites lents" in client.get("/travaux/").get_data(as_text=True)


def test_only_mine_narrows_the_history_too(client, login_as, catalogue):
    admin = make_user(role="admin")
    web_old = make_incident(admin, services=[catalogue["web"]], title="Vieux souci web")
    post_update(web_old, admin, "resolved", "Fini.")
    login_as("member")
    choose(client, catalogue["mail"])
    client.get(ONLY_MINE)
    history = client.get("/travaux/").get_data(as_text=True)
    history = history[history.index('id="history-title"'):]
    assert "Ancienne panne de messagerie" in history and "Vieux souci web" not in history


def test_a_member_without_services_is_offered_to_choose_and_sees_everything(client, login_as,
                                                                          catalogue):
    login_as("member")
    client.get(ONLY_MINE)  # asked for theirs, but chose none: nothing to narrow to
    body = client.get("/travaux/").get_data(as_text=True)
    assert "Sites lents" in body and "Courriels en retard" in body
    assert "/account/services?next=/travaux/" in body


def test_guests_pages_are_unchanged_and_get_no_cookie(client, catalogue):
    body = client.get("/travaux/").get_data(as_text=True)
    assert "mon service" not in body and "/travaux/show/" not in body
    switch = client.get(ONLY_MINE + "?next=/travaux/")
    assert switch.status_code == 302 and switch.headers.getlist("Set-Cookie") == []
    client.set_cookie(mine.ONLY_MINE_COOKIE, "1")
    assert "Sites lents" in client.get("/travaux/").get_data(as_text=True)


def test_the_switch_goes_back_only_to_our_own_pages(client, login_as, catalogue):
    login_as("member")
    assert client.get(ONLY_MINE + "?next=https://evil.example/").headers["Location"] \
        == "/travaux/"
    response = client.get(ONLY_MINE, headers={"Referer": "http://localhost/boards/x?page=2"})
    assert response.headers["Location"] == "/boards/x?page=2"
    response = client.get(ONLY_MINE, headers={"Referer": "https://evil.example/boards"})
    assert response.headers["Location"] == "/travaux/"


# The banner and the embed ----------------------------------------------------------------

def banner_of(body: str) -> str:
    start = body.index('class="ops-banner')
    return body[start:body.index("</aside>", start)]


def test_the_banner_puts_my_services_first_then_alone(client, login_as, catalogue):
    thread = make_thread()
    path = f"/threads/{thread.id}/{thread.slug}"
    guest_banner = banner_of(client.get(path).get_data(as_text=True))
    login_as("member")
    choose(client, catalogue["web"])
    banner = banner_of(client.get(path).get_data(as_text=True))
    assert banner.index("Sites lents") < banner.index("Courriels en retard")
    assert banner.index("Sites lents") < banner.index("Panne générale du réseau")
    assert "mon service" in banner and "Mes services seulement" in banner
    assert "mon service" not in guest_banner and "/travaux/show/" not in guest_banner

    client.get(ONLY_MINE)
    banner = banner_of(client.get(path).get_data(as_text=True))
    assert "Sites lents" in banner and "Panne générale du réseau" in banner
    assert "Courriels en retard" not in banner
    assert "1 opération sur d’autres services n’est pas affichée." in banner
    assert "Afficher tous les services" in banner


def test_the_banner_follows_a_new_choice_at_once(client, login_as, catalogue):
    thread = make_thread()
    path = f"/threads/{thread.id}/{thread.slug}"
    login_as("member")
    choose(client, catalogue["web"])
    banner = banner_of(client.get(path).get_data(as_text=True))
    assert banner.index("Sites lents") < banner.index("Courriels en retard")
    choose(client, catalogue["mail"])
    banner = banner_of(client.get(path).get_data(as_text=True))
    assert banner.index("Courriels en retard") < banner.index("Sites lents")


def test_the_embed_puts_my_services_first_and_offers_them_alone(client, login_as, catalogue):
    login_as("member")
    choose(client, catalogue["dns"])
    body = client.get("/travaux/embed").get_data(as_text=True)
    assert body.index("Mise à jour DNS") < body.index("Sites lents")
    assert "/travaux/show/mine?next=/travaux/embed" in body
    client.get(ONLY_MINE + "?next=/travaux/embed")
    body = client.get("/travaux/embed").get_data(as_text=True)
    assert "Mise à jour DNS" in body and "Sites lents" not in body
    assert "Panne générale du réseau" in body
