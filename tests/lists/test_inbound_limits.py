"""The list listener's limits, spoken to with smtplib: recipients are deduplicated and capped,
text is held to a forum post's length, heavy work never stalls another client's greeting,
and the moderator sees both the envelope sender and the From: header."""

import html
import os
import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import pytest

from board.extensions import db
from board.forum.forms import BODY_MAX as FORUM_BODY_MAX
from board.lists import services as lists
from board.lists.inbound import MAX_LISTS, MAX_SIZE
from board.lists.models import AllowedSender, MailingList
from tests.lists.conftest import ALLOWED
from tests.lists.test_inbound import held, mail, send_raw, smtp, wire

# A generous bound for a greeting the loop sends in milliseconds (a loaded machine, coverage),
# far below the seconds the heavy message below takes to parse and render (5 to 10 s here).
GREETING_BOUND = 1.0


def test_the_list_text_limit_is_the_forum_post_limit():
    assert lists.BODY_MAX == FORUM_BODY_MAX


# Recipients ---------------------------------------------------------------------------------

def test_a_list_named_many_times_is_held_once(listener, domain):
    address = f"informations@{domain}"
    copies = [address] * 25 + [address.upper()] * 25
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED, copies, wire(mail(domain=domain))) == {}
    assert [m.list.slug for m in held()] == ["informations"]


@pytest.fixture
def many_lists(app):
    """MAX_LISTS + 2 more lists, all open to ALLOWED. Returns their slugs."""
    slugs = [f"liste{n}" for n in range(MAX_LISTS + 2)]
    for n, slug in enumerate(slugs):
        db.session.add(MailingList(slug=slug, name=f"Liste {n}", position=10 + n,
                                   senders=[AllowedSender(email=ALLOWED)]))
    db.session.commit()
    return slugs


def test_more_than_max_lists_distinct_lists_get_452(listener, domain, many_lists):
    with smtp(listener) as conn:
        assert conn.mail(ALLOWED)[0] == 250
        replies = [conn.rcpt(f"{slug}@{domain}")[0] for slug in many_lists]
        assert conn.rcpt(f"{many_lists[0]}@{domain}")[0] == 250  # a repeat is no new list
        assert conn.data(wire(mail(domain=domain)))[0] == 250
    assert replies == [250] * MAX_LISTS + [452] * 2
    assert sorted(m.list.slug for m in held()) == many_lists[:MAX_LISTS]


# Length -------------------------------------------------------------------------------------

def test_text_longer_than_a_forum_post_is_refused_with_552(listener, domain):
    raw = wire(mail(body="é" * (lists.BODY_MAX + 1), domain=domain))
    assert len(raw) < MAX_SIZE
    code, reply = send_raw(listener, ALLOWED, f"informations@{domain}", raw)
    assert code == 552, reply
    assert b"50000 characters" in reply
    assert held() == []


def test_text_as_long_as_a_forum_post_is_held(listener, domain):
    raw = wire(mail(body="é" * (lists.BODY_MAX - 1), domain=domain))
    code, reply = send_raw(listener, ALLOWED, f"informations@{domain}", raw)
    assert code == 250, reply
    assert len(held()) == 1


# The event loop ---------------------------------------------------------------------------

def heavy_message(domain: str) -> bytes:
    """Close to 1 MB: the longest text allowed, in the Markdown slowest to render (a table),
    and an attachment for the rest."""
    message = EmailMessage()
    message["From"], message["To"] = ALLOWED, f"informations@{domain}"
    message["Subject"] = "Tableau"
    rows = (lists.BODY_MAX - 100) // len("| x | y |\r\n")  # line ends arrive as CRLF
    message.set_content("| a | b |\n|---|---|\n" + "| x | y |\n" * rows)
    message.add_attachment(os.urandom(690_000), maintype="application",
                           subtype="octet-stream", filename="annexe.bin")
    raw = wire(message)
    assert 900_000 < len(raw) < MAX_SIZE
    return raw


def greeting_delay(listener) -> float:
    """Seconds from connecting to the listener to its 220 greeting."""
    start = time.perf_counter()
    with socket.create_connection(listener, timeout=30) as sock:
        banner = sock.makefile("rb").readline()
    assert banner.startswith(b"220"), banner
    return time.perf_counter() - start


def test_a_heavy_message_does_not_delay_another_client_s_greeting(listener, domain,
                                                                   many_lists):
    """Clients keep connecting while the listener works on the heaviest message it takes
    (the longest text, in slow Markdown, to MAX_LISTS lists): each is greeted at once.
    Before, parsing and rendering ran in the event loop and greetings waited for them."""
    raw = heavy_message(domain)
    addresses = [f"{slug}@{domain}" for slug in many_lists[:MAX_LISTS]]
    moments = {}

    def send():
        conn = smtplib.SMTP(*listener, timeout=120)  # long enough for the work done before
        conn.ehlo("client.example.org")
        try:
            assert conn.mail(ALLOWED)[0] == 250
            for address in addresses:
                assert conn.rcpt(address)[0] == 250
            assert conn.docmd("DATA")[0] == 354
            conn.send(raw + b".\r\n")
            moments["sent"] = time.perf_counter()  # complete: the listener works on it now
            moments["reply"] = conn.getreply()
            moments["answered"] = time.perf_counter()
        finally:
            conn.close()

    sender = threading.Thread(target=send)
    sender.start()
    greetings = []  # (connected, delay)
    while sender.is_alive():
        connected = time.perf_counter()
        greetings.append((connected, greeting_delay(listener)))
    sender.join()
    assert moments["reply"][0] == 250, moments["reply"]
    assert len(held()) == MAX_LISTS
    # Some clients came while the message was being worked on, not only before or after...
    during = [delay for connected, delay in greetings
              if moments["sent"] < connected and connected + delay < moments["answered"]]
    assert during, (moments["answered"] - moments["sent"], greetings)
    # ...and every client was greeted promptly.
    worst = max(delay for _, delay in greetings)
    assert worst < GREETING_BOUND, (f"a greeting took {worst:.2f} s; the message was held "
                                    f"{moments['answered'] - moments['sent']:.2f} s after "
                                    "it was sent")


# Envelope sender and From: header -------------------------------------------------------------

def hold(listener, domain, from_header: str):
    message = mail(domain=domain, subject="Coupure")
    del message["From"]
    message["From"] = from_header
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED, [f"informations@{domain}"], wire(message)) == {}
    [stored] = held()
    return stored


def test_the_held_message_records_both_senders(listener, domain):
    stored = hold(listener, domain, "Direction <direction@example.org>")
    assert stored.author_email == ALLOWED
    assert stored.from_header == "Direction <direction@example.org>"
    assert stored.from_differs


def test_the_queue_flags_a_from_header_that_differs_from_the_envelope(client, login_as,
                                                                       listener, domain):
    stored = hold(listener, domain, "Direction <direction@example.org>")
    login_as("admin")
    page = html.unescape(client.get("/lists/held").get_data(as_text=True))
    article = page[page.index(f'id="message-{stored.id}"'):]
    assert f"Expéditeur de l'enveloppe\xa0: {ALLOWED}" in article
    assert "En-tête From\xa0: Direction <direction@example.org>" in article
    assert "L'expéditeur de l'enveloppe diffère de l'en-tête From" in article


def test_the_queue_shows_no_flag_when_both_senders_agree(client, login_as, listener, domain):
    hold(listener, domain, f"Annonces <{ALLOWED.upper()}>")
    login_as("admin")
    page = html.unescape(client.get("/lists/held").get_data(as_text=True))
    assert f"En-tête From\xa0: Annonces <{ALLOWED.upper()}>" in page
    assert "diffère de l'en-tête From" not in page
