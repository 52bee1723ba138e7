"""Building messages: headers that mail providers and readers can use as they are."""

import email
import email.policy

import pytest

from board.outbox.mail import ServerUnavailable, SMTPSender, build_message

URL = "https://communaute.example.org/lists/unsubscribe/" + "x" * 43


def test_long_list_unsubscribe_header_stays_a_plain_url():
    message = build_message({"to": "a@example.org", "subject": "Sujet", "text": "Texte",
                             "html": "<p>Texte</p>", "headers": {"List-Unsubscribe": f"<{URL}>"}},
                            "Communauté <communaute@example.org>")
    raw = message.as_string()
    # Not folded into RFC 2047 encoded words, which no provider reads back as a URL.
    assert f"List-Unsubscribe: <{URL}>\n" in raw
    assert "=?utf-8?" not in raw.split("List-Unsubscribe:")[1].split("\n")[0]
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{URL}>"


def test_non_ascii_bodies_travel_as_7bit_quoted_printable():
    message = build_message({"to": "a@example.org", "subject": "Réglé", "text": "Réglé à midi",
                             "html": "<p>Réglé à midi</p>"}, "Communauté <c@example.org>")
    raw = message.as_string()
    assert raw.isascii()
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Réglé"
    assert parsed.get_body(("plain",)).get_content().strip() == "Réglé à midi"


def test_starttls_in_the_smtp_url_is_required_of_the_server(smtp_server):
    # aiosmtpd here offers no STARTTLS: the mail must wait, never go in clear.
    sender = SMTPSender(smtp_server.url + "?starttls")
    message = build_message({"to": "a@example.org", "subject": "Sujet", "text": "Texte"},
                            "Communauté <c@example.org>")
    with pytest.raises(ServerUnavailable, match="STARTTLS"):
        sender.send(message)
    sender.close()
    assert smtp_server.received == []
