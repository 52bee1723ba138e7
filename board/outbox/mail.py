"""Building and sending mail: EmailMessage objects and the SMTP connection from SMTP_URL."""

import email.policy
import logging
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from board.clock import now

log = logging.getLogger("board.mail")
# With the default 78 columns, Python folds a long header with no space in it (a
# List-Unsubscribe URL) into RFC 2047 encoded words, which mail providers cannot read back
# as a URL. SMTP allows 998: long headers stay plain ASCII. Bodies stay 7-bit (quoted-
# printable) for servers without 8BITMIME.
HEADER_POLICY = email.policy.default.clone(max_line_length=998, cte_type="7bit")


def new_message_id(mail_from: str) -> str:
    """A Message-ID on the sender's domain, fixed when the mail is queued so that a retry
    carries the same one and mail programs recognise a duplicate."""
    return make_msgid(domain=parseaddr(mail_from)[1].rpartition("@")[2] or "localhost")


def build_message(payload: dict, mail_from: str) -> EmailMessage:
    """Turn an outbox payload (to, subject, text, html, headers) into a MIME message."""
    message = EmailMessage(policy=HEADER_POLICY)
    message["From"] = mail_from
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = format_datetime(now())
    message["Message-ID"] = payload.get("message_id") or new_message_id(mail_from)
    for name, value in payload.get("headers", {}).items():
        message[name] = value
    message.set_content(payload["text"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    return message


class ServerUnavailable(Exception):
    """The SMTP server cannot take any mail right now (refused or timed-out connection, TLS or
    login failure, 421, dropped connection): a reason to wait, not a fault of the message."""

    def __init__(self, cause: Exception):
        super().__init__(f"SMTP server unreachable: {type(cause).__name__}: {cause}")


class SMTPSender:
    """Sends messages over one SMTP connection, opened lazily and reused for a batch.

    Raises `ServerUnavailable` when the server, not the message, is the problem.
    """

    def __init__(self, url: str, timeout: float = 20):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = "starttls" in parse_qs(parts.query, keep_blank_values=True)
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                conn.starttls()
            if self.username:
                conn.login(self.username, self.password or "")
        except (smtplib.SMTPException, OSError):
            conn.close()
            raise
        return conn

    def send(self, message: EmailMessage) -> None:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except (smtplib.SMTPException, OSError) as error:
                # Whatever the server said before it would take mail (greeting, TLS, login)
                # holds for every message: nothing to blame this one for.
                raise ServerUnavailable(error) from error
        try:
            self._conn.send_message(message)
        except OSError as error:  # SMTPException is an OSError too: only some are the server's
            if isinstance(error, smtplib.SMTPException) and not (
                    isinstance(error, smtplib.SMTPServerDisconnected)
                    or _is_shutting_down(error)):
                raise  # a refusal of this message: 4xx, retried; 5xx, failed
            self.close()
            raise ServerUnavailable(error) from error

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._conn = None


def _is_shutting_down(error: smtplib.SMTPException) -> bool:
    """A 421 answer: the server is closing the connection (RFC 5321, 3.8), for all mail."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _msg in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 421


def is_permanent(error: Exception) -> bool:
    """True for a 5xx refusal: the server will not take this mail, retrying changes nothing."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


class LogSender:
    """Without SMTP_URL, mail is written to the log so that nothing disappears silently."""

    def send(self, message: EmailMessage) -> None:
        # Readable as a person reads mail: headers decoded, the text part as text (the wire
        # form is quoted-printable, where a confirmation link is hard to copy).
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else "(no text part)"
        log.info("mail (no SMTP_URL set):\n%s\n\n%s", headers, text)

    def close(self) -> None:
        pass


def make_sender(smtp_url: str):
    return SMTPSender(smtp_url) if smtp_url else LogSender()
