"""Posting to a list by mail: the real aiosmtpd listener (board.lists.inbound) on loopback,
spoken to with smtplib. Allowed senders' mail is held, everything else is refused during the
SMTP conversation, and nothing a client sends brings the listener down."""

import smtplib
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import func, select

from board.extensions import db
from board.lists import services as lists
from board.lists.inbound import MAX_SIZE
from board.lists.models import ListMessage
from board.outbox.models import OutboxMessage
from tests.lists.conftest import ALLOWED

STRANGER = "inconnu@example.net"


def smtp(listener) -> smtplib.SMTP:
    conn = smtplib.SMTP(*listener, timeout=10)
    conn.ehlo("client.example.org")
    return conn


def mail(sender=ALLOWED, to="informations", subject="Nouvelle offre", body="Bonjour à tous.\n",
         domain="localhost") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"{to}@{domain}"
    message["Subject"] = subject
    message.set_content(body)
    return message


def wire(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF line ends)."""
    return message.as_bytes(policy=SMTP)


def held() -> list[ListMessage]:
    db.session.expire_all()
    return db.session.scalars(select(ListMessage).order_by(ListMessage.id)).all()


def send_raw(listener, sender: str, to: str, raw: bytes) -> tuple[int, bytes]:
    """MAIL, RCPT, DATA by hand (no SIZE option): the final reply to DATA. The connection is
    closed without QUIT, whose reply would be unreadable after a broken one."""
    conn = smtp(listener)
    try:
        assert conn.mail(sender)[0] == 250
        assert conn.rcpt(to)[0] == 250
        return conn.data(raw)
    finally:
        conn.close()


def assert_still_works(listener, domain: str, subject: str = "Toujours là") -> None:
    """The listener takes a good message after whatever came before."""
    count = len(held())
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED, [f"informations@{domain}"],
                             wire(mail(subject=subject, domain=domain))) == {}
    messages = held()
    assert len(messages) == count + 1
    assert messages[-1].subject == subject


# The domain ---------------------------------------------------------------------------------

def test_the_domain_is_mail_from_s_unless_lists_domain_is_set(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_FROM", "Communauté <communaute@hebergeur.example>")
    monkeypatch.setitem(app.config, "LISTS_DOMAIN", "")
    assert lists._domain() == "hebergeur.example"
    monkeypatch.setitem(app.config, "LISTS_DOMAIN", "listes.hebergeur.example")
    assert lists._domain() == "listes.hebergeur.example"


def test_lists_domain_decides_which_addresses_the_listener_takes(app, listener, monkeypatch):
    monkeypatch.setitem(app.config, "LISTS_DOMAIN", "listes.hebergeur.example")
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED, ["informations@listes.hebergeur.example"],
                             wire(mail(domain="listes.hebergeur.example"))) == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            conn.sendmail(ALLOWED, ["informations@localhost"], wire(mail()))
    assert refused.value.recipients["informations@localhost"][0] == 550
    assert len(held()) == 1


# Accepted -----------------------------------------------------------------------------------

def test_mail_from_an_allowed_sender_is_held_with_its_subject_and_text(listener, domain):
    message = mail(subject="Coupure prévue à 22 h", body="Première ligne.\nDeuxième ligne.\n",
                   domain=domain)
    with smtp(listener) as conn:
        assert conn.mail(ALLOWED)[0] == 250
        code, _ = conn.rcpt(f"informations@{domain}")
        assert code == 250
        code, reply = conn.data(wire(message))
    assert code == 250, reply

    [stored] = held()
    assert stored.list.slug == "informations"
    assert (stored.status, stored.origin) == ("held", "mail")
    assert stored.subject == "Coupure prévue à 22 h"
    # The text as sent (line ends arrive as CRLF, as from a browser's textarea).
    assert stored.body_source.splitlines() == ["Première ligne.", "Deuxième ligne."]
    assert stored.author_email == ALLOWED and stored.author_id is None
    assert "Première ligne." in stored.body_html
    # Held: nothing goes to anybody until an admin approves it.
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_text_part_of_a_multipart_mail_is_kept(listener, domain):
    message = mail(body="Le texte brut.\n", domain=domain)
    message.add_alternative("<p>Le <b>HTML</b>.</p>", subtype="html")
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED, [f"informations@{domain}"], wire(message)) == {}
    [stored] = held()
    assert stored.body_source.splitlines() == ["Le texte brut."]


def test_sender_and_list_address_are_matched_without_regard_to_case(listener, domain):
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED.upper(), [f"INFORMATIONS@{domain.upper()}"],
                             wire(mail(domain=domain))) == {}
    assert len(held()) == 1


def test_a_held_mail_is_approved_like_a_composed_message(client, listener, domain, login_as):
    with smtp(listener) as conn:
        conn.sendmail(ALLOWED, [f"informations@{domain}"],
                      wire(mail(subject="Par courrier", domain=domain)))
    [stored] = held()
    login_as("admin")
    page = client.get("/lists/held")
    assert b"Par courrier" in page.data and ALLOWED.encode() in page.data
    assert client.form(f"/lists/held/{stored.id}/approve").status_code == 302
    assert held()[0].status == "approved"
    # The sender is told (they are not the approving admin).
    [told] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "mail")).all()
    assert told.payload["to"] == ALLOWED


# Refused ------------------------------------------------------------------------------------

def test_a_stranger_is_refused_with_550_and_nothing_is_stored(listener, domain):
    with smtp(listener) as conn, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        conn.sendmail(STRANGER, [f"informations@{domain}"], wire(mail(STRANGER, domain=domain)))
    code, reply = refused.value.recipients[f"informations@{domain}"]
    assert code == 550, reply
    assert held() == []


def test_the_envelope_sender_counts_not_the_from_header(listener, domain):
    # A forged From: header does not make a stranger an allowed sender.
    with smtp(listener) as conn, pytest.raises(smtplib.SMTPRecipientsRefused):
        conn.sendmail(STRANGER, [f"informations@{domain}"], wire(mail(ALLOWED, domain=domain)))
    assert held() == []


def test_an_empty_envelope_sender_is_refused(listener, domain):
    with smtp(listener) as conn:
        assert conn.mail("")[0] == 250
        assert conn.rcpt(f"informations@{domain}")[0] == 550
    assert held() == []


def test_an_allowed_sender_of_one_list_may_not_post_to_another(listener, domain):
    with smtp(listener) as conn, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        conn.sendmail(ALLOWED, [f"travaux@{domain}"], wire(mail(to="travaux", domain=domain)))
    assert refused.value.recipients[f"travaux@{domain}"][0] == 550
    assert held() == []


@pytest.mark.parametrize("address", ["inconnue@{domain}", "informations@ailleurs.example",
                                     "informations", "informations@{domain}.example"])
def test_an_address_that_is_no_list_of_ours_is_refused_with_550(listener, domain, address):
    address = address.format(domain=domain)
    with smtp(listener) as conn:
        assert conn.mail(ALLOWED)[0] == 250
        code, reply = conn.rcpt(address)
    assert code == 550, reply
    assert held() == []


def test_one_refused_recipient_does_not_stop_the_others(listener, domain):
    with smtp(listener) as conn:
        refused = conn.sendmail(ALLOWED, [f"inconnue@{domain}", f"informations@{domain}"],
                                wire(mail(domain=domain)))
    assert refused[f"inconnue@{domain}"][0] == 550
    assert [m.list.slug for m in held()] == ["informations"]


# Malformed, empty, oversized ----------------------------------------------------------------

HTML_ONLY = (b"From: annonces@example.org\r\nSubject: Que du HTML\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Bonjour</p>\r\n")
IMAGE_ONLY = (b"From: annonces@example.org\r\nSubject: Une image\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
              b"iVBORw0KGgo=\r\n")
UNKNOWN_CHARSET = (b"From: annonces@example.org\r\nSubject: Jeu inconnu\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: text/plain; charset=x-inexistant\r\n\r\nBonjour\r\n")
BROKEN_MULTIPART = (b"From: annonces@example.org\r\nSubject: Casse\r\nMIME-Version: 1.0\r\n"
                    b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\npas de partie\r\n")
EMPTY = b"From: annonces@example.org\r\nSubject: Vide\r\n\r\n   \r\n"
# Not a message at all: no header, no header/body separator, binary bytes with NULs.
GARBAGE = b"\xff\xfe\x00\x01\x02 ceci n'est pas un message \x80\x81\x00\r\n"
# A plain text message whose body holds a NUL byte (PostgreSQL text cannot store one).
NUL_BYTE = (b"From: annonces@example.org\r\nSubject: Octet nul\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\x00le monde\r\n")


def assert_one_line_reply(reply: bytes) -> None:
    """A reply fit for the client's user: one line, no internals (SQL, exception names)."""
    assert b"\n" not in reply and b"SQL" not in reply and b"INSERT" not in reply, reply


@pytest.mark.parametrize("raw", [HTML_ONLY, IMAGE_ONLY, UNKNOWN_CHARSET, BROKEN_MULTIPART, EMPTY],
                         ids=["html-only", "image-only", "unknown-charset", "broken-multipart",
                              "empty"])
def test_malformed_mail_is_refused_and_the_listener_carries_on(listener, domain, raw):
    code, reply = send_raw(listener, ALLOWED, f"informations@{domain}", raw)
    assert 500 <= code < 600, (code, reply)
    assert_one_line_reply(reply)
    assert held() == []
    assert_still_works(listener, domain)


def test_bytes_that_are_no_mime_message_are_refused(listener, domain):
    code, reply = send_raw(listener, ALLOWED, f"informations@{domain}", GARBAGE)
    stored = [(m.subject, m.body_source) for m in held()]
    assert_still_works(listener, domain)
    assert 500 <= code < 600, (code, reply, stored)
    assert_one_line_reply(reply)
    assert stored == []


def test_a_nul_byte_is_refused_or_dropped_never_an_internal_error(listener, domain):
    code, reply = send_raw(listener, ALLOWED, f"informations@{domain}", NUL_BYTE)
    stored = [m.body_source for m in held()]
    assert_still_works(listener, domain)
    assert_one_line_reply(reply)
    if code == 250:
        assert len(stored) == 1 and "\x00" not in stored[0], stored
    else:
        assert 550 <= code < 600, (code, reply)
        assert stored == []


def test_oversized_mail_is_refused_with_552_and_the_listener_carries_on(listener, domain):
    big = mail(body="x" * 75 + "\n", domain=domain)
    big.set_content(("x" * 75 + "\n") * (MAX_SIZE // 76 + 100))
    raw = wire(big)
    assert len(raw) > MAX_SIZE

    # smtplib announces the size (SIZE=...) and the listener refuses it at once...
    with smtp(listener) as conn:
        assert conn.has_extn("size") and int(conn.esmtp_features["size"]) == MAX_SIZE
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            conn.sendmail(ALLOWED, [f"informations@{domain}"], raw)
    assert refused.value.smtp_code == 552
    # ...and a client that does not announce it is refused after sending it.
    code, reply = send_raw(listener, ALLOWED, f"informations@{domain}", raw)
    assert code == 552, reply
    assert held() == []
    assert_still_works(listener, domain)


def test_many_connections_in_a_row_are_all_answered(listener, domain):
    for n in range(5):
        with smtp(listener) as conn:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                conn.sendmail(STRANGER, [f"informations@{domain}"], wire(mail(domain=domain)))
            conn.sendmail(ALLOWED, [f"informations@{domain}"],
                          wire(mail(subject=f"Numéro {n}", domain=domain)))
    assert [m.subject for m in held()] == [f"Numéro {n}" for n in range(5)]
