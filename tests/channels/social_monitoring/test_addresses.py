"""A source cannot make the server read its own network: a private address is refused when the source is
saved, and again at every connection and redirect of a poll, unless the deployment allows intranet feeds."""
from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from channels.social_monitoring import addresses, polling
from channels.social_monitoring.addresses import (
    MAX_REDIRECTS,
    FetchRefused,
    address_refusal,
    open_public,
)
from channels.social_monitoring.clients import SourceFailure
from channels.social_monitoring.sources import SourceError, save_source
from core.db import transaction
from core.models import PendingJob, User
from tests.channels.social_monitoring.test_polling import (
    QUEUE,
    _poll_round,
    _source,
    _stored,
    rss,
)
from tests.channels.social_monitoring.test_sources_pages import (
    SOURCES,
    _form,
    _signed_in,
)
from tests.fixtures.app import row_counts

FEED = rss(("p1", "carla", "Great help from @AcmeCare today, thanks!"))


class Site:
    """A web server on a loopback address, answering each path with a feed or a redirect the test sets."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        self.routes: dict[str, tuple[int, bytes | str]] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Host header)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, self.headers.get("Host")))
                status, answer = site.routes.get(self.path, (404, b"no such page"))
                self.send_response(status)
                if isinstance(answer, str):  # a redirect's Location
                    self.send_header("Location", answer)
                    answer = b""
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_port
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Resolver:
    """The test's own answers for some names (others resolve as usual), and every name asked."""

    def __init__(self):
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[host] if host in self.answers else real_resolve(host, port)


real_resolve = addresses.resolve


@pytest.fixture
def site():
    server = Site()
    yield server
    server.close()


@pytest.fixture
def names(monkeypatch):
    resolver = Resolver()
    monkeypatch.setattr(addresses, "resolve", resolver)
    return resolver


@pytest.fixture
def loopback_is_public(monkeypatch):
    """Let 127.0.0.1 pass for a public address, so a test server stands for a site on the internet."""
    def refusal(address: str, real=address_refusal) -> str | None:
        return None if address == "127.0.0.1" else real(address)

    monkeypatch.setattr(addresses, "address_refusal", refusal)


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("100.64.0.1", "not a public"), ("192.0.2.1", "private"), ("255.255.255.255", "private"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fd00::1", "private"),
    ("ff02::1", "multicast"), ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("93.184.216.34", None), ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("::ffff:8.8.8.8", None),
])
def test_only_public_addresses_may_be_reached(address, reason):
    refusal = address_refusal(address)
    assert refusal is None if reason is None else reason in refusal


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:8110/admin", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.5/feed.rss", "private"),
    ("http://[::1]:8110/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://2130706433/", "loopback"),  # 127.0.0.1 as one number: the resolver reads it so
    ("http://127.1/", "loopback"),
    ("http://0x7f.0.0.1/", "loopback"),
    ("http://localhost:8110/admin", "names this server"),
    ("http://admin.localhost./", "names this server"),
    ("http://0.0.0.0:8110/", "unspecified"),
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://example.com/", "http:// or https://"),
    ("http://example.com:0/feed", "port"),
    ("http://example.com:99999/feed", "port"),
])
def test_a_host_written_as_a_private_address_is_refused_at_the_url(make_app, make_hr, url, reason):
    app = make_app()
    hr = make_hr(app)
    with app.app_context(), transaction() as session:
        with pytest.raises(SourceError) as refused:
            save_source(session, session.get(User, hr), name="inside", kind="rss", url=url)
        assert refused.value.field == "url" and reason in refused.value.message


def test_public_addresses_are_saved_and_an_edit_to_a_private_one_is_refused(make_app, make_hr):
    app = make_app()
    hr = make_hr(app)
    with app.app_context(), transaction() as session:
        actor = session.get(User, hr)
        by_name = save_source(session, actor, name="by-name", kind="rss",
                              url="https://feeds.example.com/a.rss")
        save_source(session, actor, name="by-address", kind="rss", url="http://93.184.216.34:8080/a.rss")
        with pytest.raises(SourceError) as refused:
            save_source(session, actor, name="by-name", kind="rss", url="http://192.168.1.1/",
                        source_id=by_name.id)
        assert refused.value.field == "url" and "PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS" in refused.value.message
        assert by_name.url == "https://feeds.example.com/a.rss"


def test_an_intranet_feed_is_saved_where_private_feeds_are_allowed(make_app, make_hr):
    app = make_app(SOCIAL_ALLOW_PRIVATE_FEEDS=True)
    hr = make_hr(app)
    with app.app_context(), transaction() as session:
        actor = session.get(User, hr)
        assert save_source(session, actor, name="intranet", kind="rss", url="http://10.0.0.5/feed.rss").id
        with pytest.raises(SourceError, match="http:// or https://"):  # the scheme is checked all the same
            save_source(session, actor, name="files", kind="rss", url="file:///etc/passwd")


@pytest.mark.usefixtures("session_per_request")
def test_the_sources_page_refuses_a_private_address_at_the_url_field(app, worked_example):
    client, token = _signed_in(app, "hr@example.com")
    before = row_counts(app)
    response = client.post(SOURCES, data=_form(token, name="metadata", url="http://169.254.169.254/latest/"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="source-url-error"' in page and "169.254.169.254 is a link-local address" in page
    assert row_counts(app) == before


def test_a_poll_that_resolves_to_a_private_address_is_refused_and_recorded(make_app, redis_url, make_hr, site,
                                                                          names):
    site.routes["/brand.rss"] = (200, FEED)
    app = make_app(REDIS_URL=redis_url, QUEUE_NAME=QUEUE)
    # Saved while the setting was on, polled after it was switched off: refused at the fetch all the same.
    allowed = make_app(REDIS_URL=redis_url, QUEUE_NAME=QUEUE, SOCIAL_ALLOW_PRIVATE_FEEDS=True)
    hr = make_hr(app)
    names.answers["feeds.example"] = ["127.0.0.1"]  # a name passes at saving: only the fetch can tell
    with app.app_context(), transaction() as session:
        by_name = save_source(session, session.get(User, hr), name="by-name", kind="rss",
                              url=f"http://feeds.example:{site.port}/brand.rss").id
    with allowed.app_context(), transaction() as session:
        literal = save_source(session, session.get(User, hr), name="literal", kind="rss",
                              url=f"{site.url}/brand.rss").id

    assert _poll_round(app) == 2
    assert site.requests == [] and _stored(app) == []
    refused = _source(app, by_name)
    assert refused.failures == 1 and refused.last_error == (
        f"refused to fetch http://feeds.example:{site.port}/brand.rss: feeds.example resolves to 127.0.0.1, "
        "a loopback address; sources are fetched from public addresses only "
        "(PLAUDIT_SOCIAL_ALLOW_PRIVATE_FEEDS allows an intranet feed)")
    # backed off like any failure
    assert refused.next_poll_at - refused.last_polled_at == polling.POLL_INTERVAL
    assert "127.0.0.1 is a loopback address" in _source(app, literal).last_error
    with app.app_context(), transaction() as session:  # the sources' failures, not failed jobs
        assert session.scalar(select(func.count()).select_from(PendingJob)) == 0


def test_where_private_feeds_are_allowed_the_name_is_fetched_at_the_address_vetted(make_app, site, names):
    site.routes["/brand.rss"] = (200, FEED)
    names.answers["feeds.example"] = ["127.0.0.1"]
    with make_app(SOCIAL_ALLOW_PRIVATE_FEEDS=True).app_context():
        fetched = polling.fetch(f"http://feeds.example:{site.port}/brand.rss")
    assert fetched.body == FEED
    # Resolved once, connected to that address, and the request still names the host it is for.
    assert names.asked == ["feeds.example"]
    assert site.requests == [("/brand.rss", f"feeds.example:{site.port}")]


def test_a_name_with_any_private_address_is_refused(site, names):
    site.routes["/brand.rss"] = (200, FEED)
    # Were the public address tried first, the next lookup could still answer the private one.
    names.answers["mixed.example"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(FetchRefused, match="mixed.example resolves to 127.0.0.1, a loopback address"):
        open_public(f"http://mixed.example:{site.port}/brand.rss", timeout=5, allow_private=False)
    assert site.requests == []


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(loopback_is_public, site, names):
    try:
        inside = Site("127.0.0.2")  # another loopback address, for the service the redirect aims at
    except OSError:
        pytest.skip("this machine has no 127.0.0.2 to serve on")
    try:
        inside.routes["/admin"] = (200, b"the admin page")
        site.routes["/brand.rss"] = (200, FEED)
        site.routes["/moved.rss"] = (302, "/brand.rss")
        site.routes["/to-admin"] = (302, f"{inside.url}/admin?key=secret")
        site.routes["/to-metadata"] = (301, "http://metadata.example/latest/meta-data/")
        site.routes["/to-ftp"] = (302, "ftp://example.com/feed.rss")
        names.answers["metadata.example"] = ["169.254.169.254"]

        # A redirect to a public address is followed as before.
        with open_public(f"{site.url}/moved.rss", timeout=5, allow_private=False) as response:
            assert response.read() == FEED
        with pytest.raises(FetchRefused) as admin:
            open_public(f"{site.url}/to-admin", timeout=5, allow_private=False)
        assert str(admin.value).startswith(
            f"redirected to {inside.url}/admin: 127.0.0.2 is a loopback address")
        assert "secret" not in str(admin.value)
        with pytest.raises(FetchRefused, match="metadata.example resolves to 169.254.169.254, a link-local"):
            open_public(f"{site.url}/to-metadata", timeout=5, allow_private=False)
        with pytest.raises(FetchRefused, match="ftp://example.com/feed.rss: not an http:// or https://"):
            open_public(f"{site.url}/to-ftp", timeout=5, allow_private=False)
        assert inside.requests == []
    finally:
        inside.close()


def test_a_redirect_to_a_file_fails_the_poll(loopback_is_public, site):
    site.routes["/to-file"] = (302, "file:///etc/passwd")
    with pytest.raises(SourceFailure, match="not allowed"):
        polling.fetch(f"{site.url}/to-file")


def test_redirects_are_capped(site):
    for hop in range(10):
        site.routes[f"/hop/{hop}"] = (302, f"/hop/{hop + 1}")
    site.routes[f"/hop/{MAX_REDIRECTS}"] = (200, FEED)
    with open_public(f"{site.url}/hop/0", timeout=5, allow_private=True) as response:
        assert response.read() == FEED  # as many as allowed

    site.routes[f"/hop/{MAX_REDIRECTS}"] = (302, f"/hop/{MAX_REDIRECTS + 1}")
    site.requests.clear()
    with pytest.raises(FetchRefused, match=f"more than {MAX_REDIRECTS} redirects"):
        open_public(f"{site.url}/hop/0", timeout=5, allow_private=True)
    assert len(site.requests) == MAX_REDIRECTS + 1


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate and key for ``feeds.example``, trusted as the only authority."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=feeds.example",
                    "-addext", "subjectAltName=DNS:feeds.example"], check=True, capture_output=True)
    return cert, key


def test_https_is_connected_by_address_and_verified_by_name(certificate, names, monkeypatch):
    cert, key = certificate
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = Site(tls=tls)
    try:
        server.routes["/brand.rss"] = (200, FEED)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by each fetch's default TLS context
        names.answers["feeds.example"] = names.answers["impostor.example"] = ["127.0.0.1"]

        with open_public(f"https://feeds.example:{server.port}/brand.rss", timeout=5,
                         allow_private=True) as response:
            assert response.read() == FEED
        assert server.requests == [("/brand.rss", f"feeds.example:{server.port}")]
        # The certificate is for feeds.example: another name at the same address is not trusted with it.
        with pytest.raises(urllib.error.URLError, match="certificate"):
            open_public(f"https://impostor.example:{server.port}/brand.rss", timeout=5, allow_private=True)
    finally:
        server.close()
