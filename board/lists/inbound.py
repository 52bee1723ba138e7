"""Posting by mail: an SMTP listener (aiosmtpd) for the lists' posting addresses.

Mail from an allowed sender is held for approval like a composed message. Anything else is
refused during the SMTP conversation, with a reply the sending server reports to its user;
oversized or malformed mail is refused without bringing the listener down.
"""

import email
import email.policy
import logging
from email import errors
from email.utils import parseaddr

from aiosmtpd.controller import Controller

from board.lists import services

log = logging.getLogger("board.lists.inbound")
MAX_SIZE = 1024 * 1024


class ListHandler:
    """aiosmtpd handler: RCPT checks the list and the sender, DATA holds the message."""

    def __init__(self, app):
        self.app = app

    def _list_for(self, address: str):
        local, _, domain = address.lower().partition("@")
        with self.app.app_context():
            mailing_list = services.get_list(local)
            if mailing_list is None or domain != services._domain().lower():
                return None
            return mailing_list.slug

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        slug = self._list_for(address)
        if slug is None:
            return "550 5.1.1 No such list here"
        sender = parseaddr(envelope.mail_from or "")[1]
        with self.app.app_context():
            allowed = services.is_allowed_sender(services.get_list(slug), sender)
        if not allowed:
            log.info("refused %s -> %s: not an allowed sender", sender, address)
            return "550 5.7.1 You are not allowed to post to this list"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        try:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if not message.keys() or any(isinstance(d, errors.MissingHeaderBodySeparatorDefect)
                                         for d in message.defects):
                return "554 5.6.0 Not a mail message"
            subject = str(message.get("Subject", "") or "")
            part = message.get_body(preferencelist=("plain",))
            if part is None:
                return "554 5.6.0 A text/plain part is needed"
            body = part.get_content()
        except Exception as error:  # noqa: BLE001 - any broken mail is refused, never fatal
            log.warning("malformed mail from %s refused: %s", envelope.mail_from, error)
            return "554 5.6.0 Malformed message"
        if not body.strip():
            return "554 5.6.0 Empty message"
        if "\x00" in body or "\x00" in subject:
            return "554 5.6.0 NUL characters are not accepted"
        sender = parseaddr(envelope.mail_from or "")[1]
        try:
            with self.app.app_context():
                for address in envelope.rcpt_tos:
                    services.hold_mail(services.get_list(self._list_for(address)), sender,
                                       subject, body)
        except Exception:  # noqa: BLE001 - the sender must get a clean SMTP answer
            log.exception("could not hold mail from %s", sender)
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("held mail from %s to %s", sender, ", ".join(envelope.rcpt_tos))
        return "250 Message held for approval"


def make_controller(app, host: str, port: int) -> Controller:
    """The listener; mail over MAX_SIZE is refused with 552 by aiosmtpd itself."""
    return Controller(ListHandler(app), hostname=host, port=port, data_size_limit=MAX_SIZE,
                      decode_data=False, ready_timeout=10)
