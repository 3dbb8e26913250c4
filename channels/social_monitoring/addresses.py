"""Which addresses the server may fetch for a source, and an opener that fetches no other.

HR chooses a source's address, but the server fetches it from inside the network: unchecked,
``http://127.0.0.1:8110/admin`` or ``http://169.254.169.254/`` (a cloud's metadata) would be read on their
behalf (server-side request forgery). So a source's address is refused when it is saved if its host is
written as a non-public address (:func:`host_refusal`), and, the real guard since a name may resolve
anywhere and resolve differently later, :func:`open_public` resolves the host at every connection, refuses
it if any of its addresses is not public, and connects to the address it vetted, with the name kept for the
``Host`` header and the TLS certificate check. Every redirect is vetted the same way, and their number capped.

``PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS`` lifts the address checks (not the scheme check or the cap) for an
intranet feed.
"""
from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import urllib.request
from urllib.parse import urlsplit, urlunsplit

from flask import current_app, has_app_context

from .clients import SourceFailure

#: The most redirects one fetch follows.
MAX_REDIRECTS = 5
SETTING = "SOCIAL_ALLOW_PRIVATE_FEEDS"
_HOW_TO_ALLOW = f"sources are fetched from public addresses only (PLAUDIT_{SETTING} allows an intranet feed)"
# The resolver reads the shorthand forms of IPv4 ("127.1", "0x7f000001", "2130706433") as addresses too.
_IPV4_SHORTHAND = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)
_NOT_PUBLIC = (("is_loopback", "loopback"), ("is_unspecified", "unspecified"),
               ("is_link_local", "link-local"), ("is_multicast", "multicast"), ("is_private", "private"),
               ("is_reserved", "reserved"))


class FetchRefused(SourceFailure):
    """A fetch stopped before it reached an address it may not: a non-public one, a redirect too many."""


def allow_private_feeds() -> bool:
    """Whether this deployment lets sources reach private addresses (its setting; off outside an app)."""
    return has_app_context() and bool(current_app.config.get(SETTING, False))


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP address) is not one a source may reach, as "a loopback address"; None if public.

    An IPv6 address that carries an IPv4 one (``::ffff:127.0.0.1``, 6to4) is judged by the IPv4 address,
    which is where it leads.
    """
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    for attribute, kind in _NOT_PUBLIC:
        if getattr(ip, attribute):
            return f"a {kind} address"
    if not ip.is_global:  # shared address space (100.64.0.0/10) and the like: private in all but name
        return "not a public address"
    return None


def host_refusal(host: str) -> str | None:
    """Why ``host``, as written in an address, names somewhere not public; None when only resolving can tell.

    For the check at saving: an IP address, in any form the resolver reads, or a ``localhost`` name.
    """
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} names this server (a loopback address)"
    literal = _literal_address(host)
    if literal is None:
        return None
    reason = address_refusal(literal)
    return f"{host} is {reason}" if reason else None


def _literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if _IPV4_SHORTHAND.match(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order. Tests replace this to answer their own."""
    return list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def public_url(url: str | None) -> str | None:
    """``url`` without its user name, password and query string (where a feed's key often rides)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def connect_public(host: str, port: int, timeout: float, allow_private: bool) -> socket.socket:
    """A socket connected to ``host``, at an address vetted here, so no second resolution can differ.

    :raises FetchRefused: when any address of the host is not public (unless ``allow_private``): a name
        that resolves both ways may be answered either way next time.
    :raises OSError: when the host does not resolve or no address answers.
    """
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                where = f"{host} is" if address == host else f"{host} resolves to {address},"
                raise FetchRefused(f"{where} {reason}; {_HOW_TO_ALLOW}")
    failure: OSError = OSError(f"{host} resolves to no address")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    raise failure


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, allow_private: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.allow_private = allow_private

    def connect(self):
        self.sock = connect_public(self.host, self.port, self.timeout, self.allow_private)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, allow_private: bool, tls: ssl.SSLContext, **kwargs):
        super().__init__(*args, context=tls, **kwargs)
        self.allow_private, self.tls = allow_private, tls

    def connect(self):
        sock = connect_public(self.host, self.port, self.timeout, self.allow_private)
        # Connected by address, verified by name: SNI and the certificate check are for the URL's host.
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool):
        super().__init__()
        self.allow_private = allow_private

    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req, allow_private=self.allow_private)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool):
        # Made per fetch, so a changed CA bundle (SSL_CERT_FILE) is read without a restart.
        self.tls = ssl.create_default_context()
        super().__init__(context=self.tls)
        self.allow_private = allow_private

    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, allow_private=self.allow_private, tls=self.tls)


class _VettedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows at most :data:`MAX_REDIRECTS` redirects, each to an http(s) address that is public."""

    def __init__(self, allow_private: bool):
        super().__init__()
        self.allow_private, self.followed = allow_private, 0

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.followed += 1
        parts = urlsplit(newurl)
        problem = None
        if self.followed > MAX_REDIRECTS:
            problem = f"more than {MAX_REDIRECTS} redirects"
        elif parts.scheme not in ("http", "https") or not parts.hostname:
            problem = "not an http:// or https:// address"
        elif not self.allow_private:
            # Checked here to name the hop; the connection checks the address it actually reaches again.
            literal = host_refusal(parts.hostname)
            problem = f"{literal}; {_HOW_TO_ALLOW}" if literal else self._resolved_refusal(parts)
        if problem:
            fp.close()
            raise FetchRefused(f"redirected to {public_url(newurl)}: {problem}")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(req.full_url) != _origin(newurl):
            # A feed's password is for its own server: urllib would send it on to wherever the feed points.
            new.remove_header("Authorization")
        return new

    @staticmethod
    def _resolved_refusal(parts) -> str | None:
        try:
            addresses = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, ValueError, UnicodeError):
            return None  # an unreachable or malformed address: the connection reports it
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                return f"{parts.hostname} resolves to {address}, {reason}; {_HOW_TO_ALLOW}"
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port or (443 if parts.scheme == "https" else 80)


def open_public(request: urllib.request.Request | str, timeout: float, allow_private: bool | None = None):
    """Open ``request`` (http or https) as ``urllib.request.urlopen`` would, reaching public addresses only.

    Environment proxies (``HTTP_PROXY``...) are not used: a proxy would connect to an address never vetted.

    :param allow_private: whether private addresses may be reached; None: the deployment's setting.
    :return: the response, to use as a context manager.
    :raises FetchRefused: for an address, or a redirect, a source may not reach.
    :raises urllib.error.URLError: as ``urlopen`` does (``HTTPError`` for an error status, including 304).
    """
    if allow_private is None:
        allow_private = allow_private_feeds()
    opener = urllib.request.OpenerDirector()
    for handler in (_PublicHTTPHandler(allow_private), _PublicHTTPSHandler(allow_private),
                    _VettedRedirects(allow_private), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor(), urllib.request.UnknownHandler()):
        opener.add_handler(handler)
    return opener.open(request, timeout=timeout)
