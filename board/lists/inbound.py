"""Posting by mail: an SMTP listener (aiosmtpd) for the lists' posting addresses.

Mail from an allowed sender is held for approval like a composed message. Anything else is
refused during the SMTP conversation, with a reply the sending server reports to its user;
oversized or malformed mail is refused without bringing the listener down.

The event loop only talks SMTP: every database query, every parse and every Markdown
rendering runs in a worker thread (`run_in_executor`), so that one heavy message never keeps
another client waiting for its greeting.
"""

import asyncio
import email
import email.policy
import logging
from email import errors
from email.utils import parseaddr

from aiosmtpd.controller import Controller

from board.formfields import one_line
from board.lists import services

log = logging.getLogger("board.lists.inbound")
MAX_SIZE = 1024 * 1024
# Distinct lists one message may go to: each is one held copy for a moderator to read.
MAX_LISTS = 5


class ListHandler:
    """aiosmtpd handler: RCPT checks the list and the sender, DATA holds the message."""

    def __init__(self, app):
        self.app = app

    async def _off_loop(self, work, *args):
        """`work(*args)` in a worker thread, in an application context of its own."""

        def run():
            with self.app.app_context():
                return work(*args)

        return await asyncio.get_running_loop().run_in_executor(None, run)

    # RCPT ---------------------------------------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        accepted = {a.lower() for a in envelope.rcpt_tos}
        if address.lower() in accepted:
            return "250 OK"  # the same list named twice still gets one copy
        if len(accepted) >= MAX_LISTS:
            return f"452 4.5.3 At most {MAX_LISTS} lists per message"
        sender = parseaddr(envelope.mail_from or "")[1]
        refusal = await self._off_loop(self._refusal, address, sender)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _refusal(self, address: str, sender: str) -> str | None:
        """The SMTP reply refusing `sender`'s mail to `address`, or None when it is taken."""
        mailing_list = _list_at(address)
        if mailing_list is None:
            return "550 5.1.1 No such list here"
        if not services.is_allowed_sender(mailing_list, sender):
            log.info("refused %s -> %s: not an allowed sender", sender, address)
            return "550 5.7.1 You are not allowed to post to this list"
        return None

    # DATA ---------------------------------------------------------------------------------

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        return await self._off_loop(self._hold, envelope.mail_from or "",
                                    list(envelope.rcpt_tos), raw)

    def _hold(self, mail_from: str, recipients: list[str], raw: bytes) -> str:
        """Parse the message and hold one copy per list: the SMTP reply to DATA."""
        try:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if not message.keys() or any(isinstance(d, errors.MissingHeaderBodySeparatorDefect)
                                         for d in message.defects):
                return "554 5.6.0 Not a mail message"
            # An encoded word may carry CR, LF and controls that a header line cannot.
            subject = one_line(str(message.get("Subject", "") or ""))
            from_header = one_line(str(message.get("From", "") or ""))
            part = message.get_body(preferencelist=("plain",))
            if part is None:
                return "554 5.6.0 A text/plain part is needed"
            body = part.get_content()
        except Exception as error:  # noqa: BLE001 - any broken mail is refused, never fatal
            log.warning("malformed mail from %s refused: %s", mail_from, error)
            return "554 5.6.0 Malformed message"
        if not body.strip():
            return "554 5.6.0 Empty message"
        if len(body) > services.BODY_MAX:
            return (f"552 5.3.4 Message too long: at most {services.BODY_MAX} characters "
                    "of text")
        if "\x00" in body:
            return "554 5.6.0 NUL characters are not accepted"
        sender = parseaddr(mail_from)[1]
        try:
            services.hold_mail([_list_at(address) for address in recipients], sender, subject,
                               body, from_header)
        except Exception:  # noqa: BLE001 - the sender must get a clean SMTP answer
            log.exception("could not hold mail from %s", sender)
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("held mail from %s (From: %s) to %s", sender, from_header,
                 ", ".join(recipients))
        return "250 Message held for approval"


def _list_at(address: str):
    """The list whose posting address is `address` (any case), or None."""
    local, _, domain = address.lower().partition("@")
    if domain != services._domain().lower():
        return None
    return services.get_list(local)


def make_controller(app, host: str, port: int) -> Controller:
    """The listener; mail over MAX_SIZE is refused with 552 by aiosmtpd itself."""
    return Controller(ListHandler(app), hostname=host, port=port, data_size_limit=MAX_SIZE,
                      decode_data=False, ready_timeout=10)
