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


@pytest.fixture
def big_nat(proxied):
    """Many people behind one address (a company, a mobile carrier): a generous limit per
    address, so that what is measured is the limit per account."""
    proxied.config.update(LOGIN_LIMIT_PER_ADDRESS="100 per minute")
    yield proxied
    proxied.config.update(LOGIN_LIMIT_PER_ADDRESS="10 per minute; 60 per hour")


def test_wrong_passwords_from_strangers_do_not_lock_the_owner_out(proxied):
    owner = make_user(role="admin")
    # Three addresses, each within its limits: 24 wrong passwords for the account.
    for n in range(24):
        visitor(proxied, f"203.0.113.{n % 3 + 1}").login(owner.email, WRONG)
    assert visitor(proxied, "198.51.100.7").login(owner.email).status_code == 302


def test_many_failed_logins_from_one_address_do_not_stop_the_owner(big_nat):
    owner = make_user(role="admin")
    stranger = visitor(big_nat, "203.0.113.66")
    codes = [stranger.login(owner.email, WRONG).status_code for _ in range(30)]
    assert codes == [200] * 20 + [429] * 10
    assert visitor(big_nat, "198.51.100.7").login(owner.email).status_code == 302


def test_successful_logins_do_not_count_against_the_account(proxied):
    admin = make_user(role="admin")
    for n in range(25):  # an admin who logs in and out all day, from a few places
        browser = visitor(proxied, f"192.0.2.{n % 5 + 1}")
        assert browser.login(admin.email).status_code == 302
        browser.logout()


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


def test_one_address_gets_twenty_wrong_passwords_per_account(big_nat):
    target, other = make_user(), make_user()
    stranger = visitor(big_nat, "203.0.113.66")
    codes = [stranger.login(target.email, WRONG).status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    # Its own address only: the same address may still log in to another account,
    # and the owner, elsewhere, to this one.
    assert stranger.login(other.email).status_code == 302
    assert visitor(big_nat, "198.51.100.7").login(target.email).status_code == 302


def test_password_is_still_required(proxied):
    owner = make_user()
    assert visitor(proxied, "198.51.100.7").login(owner.email, WRONG).status_code == 200
    assert visitor(proxied, "198.51.100.7").login(owner.email, PASSWORD).status_code == 302
