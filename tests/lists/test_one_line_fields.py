"""A list message's subject stays on one line, written on the site or received by mail: it
becomes the Subject of a mail to every subscriber."""

from sqlalchemy import select

from board.extensions import db
from board.lists.models import ListMessage
from tests.lists.conftest import ALLOWED
from tests.lists.test_inbound import held, smtp

PASTED = "Nouvelle\r\nBcc: victime@example.org\toffre\u202e"
CLEAN = "Nouvelle Bcc: victime@example.org offre"


def test_a_composed_subject_is_kept_on_one_line(client, login_as):
    login_as("admin")
    response = client.form("/lists/informations/compose", {"subject": PASTED, "body": "Oui"})
    assert response.status_code == 302, response.data[:500]
    assert db.session.scalar(select(ListMessage.subject)) == CLEAN


def test_a_mailed_subject_is_kept_on_one_line(listener, domain):
    # An encoded word may carry what a header line cannot: CR, LF, TAB, controls.
    raw = (f"From: {ALLOWED}\r\nTo: informations@{domain}\r\n"
           "Subject: =?utf-8?q?Nouvelle=0D=0ABcc=3A_victime=40example=2Eorg=09offre=E2=80=AE?=\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n").encode()
    with smtp(listener) as conn:
        assert conn.sendmail(ALLOWED, [f"informations@{domain}"], raw) == {}
    [stored] = held()
    assert stored.subject == CLEAN
