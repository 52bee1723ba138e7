"""Outgoing HTTP for webhooks and the social relay: one POST, no redirect followed, to an
address checked against SSRF when the URL is saved and again when it is called.

The host is resolved once per request, every address it resolves to is checked, and the
connection goes to the checked address (the TLS name stays the host's): a DNS answer that
changes between the check and the call (DNS rebinding) cannot reach a private address.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

TIMEOUT = 10.0
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class UnsafeURL(ValueError):
    """A URL we refuse to call; str(error) is a code the forms turn into a message."""


@dataclass
class Answer:
    status: int
    body: bytes
    duration_ms: int


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def check_url(url: str) -> tuple[str, int, list[str]]:
    """(host, port, addresses) of a URL we may call; raises UnsafeURL: "scheme" (https only,
    plain http for 127.0.0.1 or localhost), "host" (none, or it does not resolve),
    "private" (it resolves to a private, loopback, link-local, multicast or reserved address
    and WEBHOOK_ALLOW_PRIVATE is off)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise UnsafeURL("scheme")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise UnsafeURL("scheme")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("host") from None
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeURL("host") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise UnsafeURL("host")
    if not _allow_private() and any(not _public(a) for a in addresses):
        raise UnsafeURL("private")
    return host, port, addresses


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


class _Pinned:
    """Connect to the address we checked, not to whatever the name resolves to now."""

    addresses: list[str]
    host: str
    port: int

    def connect(self):
        error: OSError = OSError("no address")
        for address in self.addresses:
            try:
                self.sock = socket.create_connection(
                    (address, self.port), self.timeout)  # type: ignore[attr-defined]
                return
            except OSError as refused:
                error = refused
        raise error


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` (checked again now) and return the answer, whatever its status;
    a redirect is an answer like any other, never followed. TIMEOUT seconds at most for the
    connection and for each read. Raises UnsafeURL, OSError
    (refused, timed out...) or http.client.HTTPException."""
    host, port, addresses = check_url(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(host, port, timeout=TIMEOUT)
    connection.addresses = addresses
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": "board-travaux/1", **headers})
        response = connection.getresponse()
        content = response.read(64 * 1024)
        return Answer(response.status, content, _ms(started))
    finally:
        connection.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (time.monotonic())."""
    return _ms(started)
