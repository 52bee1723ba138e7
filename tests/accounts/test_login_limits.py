"""Login limits stop the guesser, never the account's owner: they count per client address and
per (address, account); the count per account only slows wrong passwords."""

import pytest

from board.extensions import limiter
from tests.conftest import TEST_CONFIG, FormClient
from tests.factories import PASSWORD, make_user

WRONG = "not the password"


@pytest.fixture
def proxied(app, database_url):
    """The application behind one proxy, so each X-Forwarded-For is a visitor of its own."""
    from board import create_app

    proxied = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                          "TRUSTED_PROXIES": 1})
    proxied.test_client_class = FormClient
    with proxied.app_context():
        limiter.reset()
        yield proxied
    with app.app_context():
        limiter.reset()


def visitor(app, address):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": address})
    return client


def test_many_failed_logins_from_one_address_do_not_stop_the_owner(proxied):
    owner = make_user(role="admin")
    stranger = visitor(proxied, "203.0.113.66")
    codes = [stranger.login(owner.email, WRONG).status_code for _ in range(30)]
    assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}
    assert visitor(proxied, "198.51.100.7").login(owner.email).status_code == 302


def test_the_owner_logs_in_while_the_account_is_attacked_from_many_addresses(proxied):
    owner = make_user(role="admin")
    assert proxied.config["LOGIN_FAILURES_PER_ACCOUNT"] == "50 per hour"
    # Ten addresses, each within its own limits, 60 wrong passwords in all.
    codes = [visitor(proxied, f"203.0.113.{n // 6 + 1}").login(owner.email, WRONG).status_code
             for n in range(60)]
    assert codes == [200] * 50 + [429] * 10
    owner_browser = visitor(proxied, "198.51.100.7")
    slowed = owner_browser.login(owner.email, WRONG)
    assert slowed.status_code == 429 and "Retry-After" in slowed.headers
    assert "bon mot de passe fonctionne toujours" in slowed.get_data(as_text=True)
    assert owner_browser.login(owner.email).status_code == 302


def test_one_address_gets_twenty_wrong_passwords_per_account(proxied):
    proxied.config.update(LOGIN_LIMIT_PER_ADDRESS="100 per minute")
    try:
        target, other = make_user(), make_user()
        stranger = visitor(proxied, "203.0.113.66")
        codes = [stranger.login(target.email, WRONG).status_code for _ in range(21)]
        assert codes == [200] * 20 + [429]
        # Its own address only: the same address may still log in to another account,
        # and the owner, elsewhere, to this one.
        assert stranger.login(other.email).status_code == 302
        assert visitor(proxied, "198.51.100.7").login(target.email).status_code == 302
    finally:
        proxied.config.update(LOGIN_LIMIT_PER_ADDRESS="10 per minute; 60 per hour")


def test_successful_logins_do_not_count_against_the_account(proxied):
    proxied.config.update(LOGIN_LIMIT_PER_ADDRESS="100 per minute")
    try:
        admin = make_user(role="admin")
        office = visitor(proxied, "192.0.2.10")  # the office's one public address
        for _ in range(25):
            assert office.login(admin.email).status_code == 302
            office.logout()
    finally:
        proxied.config.update(LOGIN_LIMIT_PER_ADDRESS="10 per minute; 60 per hour")


def test_password_is_still_required(proxied):
    owner = make_user()
    assert visitor(proxied, "198.51.100.7").login(owner.email, WRONG).status_code == 200
    assert visitor(proxied, "198.51.100.7").login(owner.email, PASSWORD).status_code == 302
