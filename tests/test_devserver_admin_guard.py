"""/admin cannot be driven by a web page: JSON only, this server's Host, no foreign origin.

Each refused request is one a page in the user's browser could make (a "simple" cross-site
request, or any request after DNS rebinding); the server's state must not change.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from devserver_helpers import ADA, JSON, check_response, client, device_start

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._admin_guard import admin_addresses

SIMPLE_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
STATE_CHANGING = [
    ("/admin/auto_approve", '{"user": "ada@example.com"}'),
    ("/admin/faults", '{"status": 503, "count": 5}'),
    ("/admin/apps/web", '{"access_token_ttl": 5}'),
    ("/admin/clock", '{"advance": 3600}'),
    ("/admin/rotate_keys", "{}"),
    ("/admin/events/clear", "{}"),
    ("/admin/login_as", "{}"),
    ("/admin/revoke_user", '{"user": "ada@example.com"}'),
    ("/admin/expire_access_tokens", '{"user": "ada@example.com"}'),
    ("/admin/approve_device", '{"user_code": "{user_code}"}'),
]


@dataclass
class Target:
    dev: DevServer
    http: httpx.Client
    user_code: str

    def send(self, method: str, path: str, body: str, headers: dict[str, str]) -> httpx.Response:
        content = body.replace("{user_code}", self.user_code).encode()
        filled = {k: v.replace("{port}", str(self.dev.port)) for k, v in headers.items()}
        return self.http.request(method, path, content=content or None, headers=filled)


@pytest.fixture(scope="module")
def target(dev: DevServer) -> Iterator[Target]:
    """The module's server with something for each control to change: events, a login, a
    pending device code."""
    with client(dev) as http:
        code = device_start(http, dev)["user_code"]
        http.post("/oauth2/default/v1/token", data={"grant_type": "refresh_token"})
        dev.login_as(ADA, "web")
        yield Target(dev, http, code)


def state(dev: DevServer) -> str:
    """Everything an /admin call can change, as one comparable text."""
    store = dev.authority.store
    kids = [s.keys.jwks() for s in dev.authority.servers.values()]
    with store.lock:
        return repr(
            (
                store.grants,
                store.access,
                store.devices,
                store.faults,
                store.auto_approve,
                store.clock.offset,
                store.events,
                dev.apps,
                kids,
            )
        )


def assert_refused(target: Target, response: httpx.Response, status: int, before: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == "invalid_request"
    assert target.dev.app("web").client_secret not in response.text
    assert state(target.dev) == before


@pytest.mark.parametrize("ctype", [*SIMPLE_TYPES, None])
@pytest.mark.parametrize(("path", "body"), STATE_CHANGING)
def test_a_body_a_page_can_send_changes_nothing(
    target: Target, ctype: str | None, path: str, body: str
) -> None:
    before = state(target.dev)
    headers = {} if ctype is None else {"Content-Type": ctype}
    response = target.send("POST", path, body, headers)
    assert_refused(target, response, 415, before)
    assert (
        "send the body with Content-Type: application/json" in response.json()["error_description"]
    )


H, ORIGIN, SITE = "Host", "Origin", "Sec-Fetch-Site"
AUTO, FAULT, CLOCK = (STATE_CHANGING[i][1] for i in (0, 1, 3))
J = JSON_TYPE = "application/json"
EVIL = "evil.example:{port}"
# (method, path, content type, other headers, body, expected status)
HOSTILE: list[tuple[str, str, str | None, dict[str, str], str, int]] = [
    ("POST", "/admin/auto_approve", "text/plain;charset=utf-8", {}, AUTO, 415),
    ("POST", "/admin/faults", "text/json", {}, FAULT, 415),
    ("POST", "/admin/login_as", "application/jsonp", {}, "{}", 415),
    ("PUT", "/admin/faults", "text/plain", {}, FAULT, 415),
    ("PATCH", "/admin/apps/web", "application/x-www-form-urlencoded", {}, "{}", 415),
    ("DELETE", "/admin/faults", None, {}, "", 415),
    ("POST", "/admin/auto_approve", J, {ORIGIN: "http://evil.example"}, AUTO, 403),
    ("POST", "/admin/faults", J, {ORIGIN: "null"}, FAULT, 403),
    ("POST", "/admin/clock", J, {ORIGIN: "http://localhost:8888"}, CLOCK, 403),
    ("POST", "/admin/rotate_keys", J, {SITE: "cross-site"}, "", 403),
    ("POST", "/admin/revoke_user", J, {SITE: "same-site"}, AUTO, 403),
    ("GET", "/admin/events", None, {SITE: "cross-site"}, "", 403),
    ("GET", "/admin/apps/web", None, {ORIGIN: "http://evil.example"}, "", 403),
    ("POST", "/admin/auto_approve", J, {H: EVIL}, AUTO, 421),
    ("POST", "/admin/events/clear", J, {H: "evil.example"}, "{}", 421),
    ("GET", "/admin/apps/web", None, {H: EVIL}, "", 421),
    ("GET", "/admin/apps/web", None, {H: "127.0.0.1.evil.example:{port}"}, "", 421),
    ("GET", "/admin/events", None, {H: "localhost"}, "", 421),
    ("GET", "/admin/clock", None, {H: "127.0.0.1:1"}, "", 421),
    ("GET", "/admin/nope", None, {H: EVIL}, "", 421),
]


@pytest.mark.parametrize(
    ("method", "path", "ctype", "headers", "body", "status"),
    HOSTILE,
    ids=[f"{m} {p} {c} {h}" for m, p, c, h, _, _ in HOSTILE],
)
def test_hostile_admin_requests(
    target: Target,
    method: str,
    path: str,
    ctype: str | None,
    headers: dict[str, str],
    body: str,
    status: int,
) -> None:
    before = state(target.dev)
    sent = {**headers, **({"Content-Type": ctype} if ctype else {})}
    assert_refused(target, target.send(method, path, body, sent), status, before)


def test_a_forged_host_reads_no_secret_but_oauth_answers_any_host(target: Target) -> None:
    dev, http = target.dev, target.http
    forged = {"Host": f"evil.example:{dev.port}"}
    response = http.get("/admin/apps/web", headers=forged)
    assert response.status_code == 421
    text = response.json()["error_description"]
    assert text.startswith("The admin API answers only requests addressed to 127.0.0.1:")
    # OAuth endpoints answer any Host, as Okta does on its own domain: they hold no secret.
    discovery = http.get("/oauth2/default/.well-known/openid-configuration", headers=forged)
    assert discovery.status_code == 200
    assert discovery.json()["issuer"] == dev.issuer  # the issuer never follows the Host


def test_only_the_server_own_addresses_and_json_are_accepted(fresh_dev: DevServer) -> None:
    port = fresh_dev.port
    with client(fresh_dev) as http:
        for host, status in [
            (f"127.0.0.1:{port}", 200),
            (f"localhost:{port}", 200),
            (f"LOCALHOST:{port}", 200),
            (f"localhost:{port + 1}", 421),
        ]:
            web = http.get("/admin/apps/web", headers={"Host": host})
            assert web.status_code == status
            assert (fresh_dev.app("web").client_secret in web.text) == (status == 200)
        body = b'{"user": "ada@example.com"}'
        own = {"Origin": f"http://localhost:{port}", "Sec-Fetch-Site": "same-origin"}
        for ctype, status in [
            ("text/plain; charset=utf-8", 415),
            (f"{JSON_TYPE}; charset=utf-8", 200),
        ]:
            answer = http.post(
                "/admin/auto_approve", content=body, headers={**own, "Content-Type": ctype}
            )
            assert answer.status_code == status, answer.text
        assert fresh_dev.auto_approve == ADA
        typed_url = {**JSON, "Sec-Fetch-Site": "none"}  # typed into the address bar
        assert http.post("/admin/faults/clear", headers=typed_url).status_code == 200


def test_a_public_url_host_is_accepted() -> None:
    public = "http://classroom.example:8080"
    with DevServer(port=0, public_url=public) as dev:
        local = f"http://127.0.0.1:{dev.port}"  # classroom.example does not resolve here
        hooks = {"response": [check_response]}
        with httpx.Client(base_url=local, event_hooks=hooks) as http:
            headers = {"Host": "classroom.example:8080", "Origin": public}
            answer = http.post("/admin/clock", json={"advance": 5}, headers=headers)
            assert answer.status_code == 200, answer.text
            assert (
                http.get("/admin/clock", headers={"Host": "classroom.example"}).status_code == 421
            )
            assert http.get("/admin/clock").status_code == 200  # 127.0.0.1:PORT still works


def test_admin_addresses() -> None:
    ipv6 = admin_addresses("http://[::1]:5000", 5000)
    assert {"[::1]:5000", "localhost:5000", "127.0.0.1:5000"} <= ipv6.hosts
    assert "http://[::1]:5000" in ipv6.origins
    on_80 = admin_addresses("http://127.0.0.1:80", 80)
    assert {"localhost", "localhost:80", "127.0.0.1"} <= on_80.hosts
    assert "http://localhost" in on_80.origins
    proxied = admin_addresses("https://dev.example.org", 8080)
    assert {"dev.example.org", "dev.example.org:443", "localhost:8080"} <= proxied.hosts
    assert "https://dev.example.org" in proxied.origins
    assert "http://dev.example.org" not in proxied.origins


def test_admin_addresses_of_a_tls_server_are_https_on_loopback() -> None:
    tls = admin_addresses("https://127.0.0.1:5000", 5000, tls=True)
    assert {"https://localhost:5000", "https://127.0.0.1:5000", "https://[::1]:5000"} <= (
        tls.origins
    )
    assert "http://localhost:5000" not in tls.origins
    proxied = admin_addresses("https://dev.example.org", 8080)  # TLS ends at the proxy
    assert "http://localhost:8080" in proxied.origins


def test_a_tls_dev_server_takes_admin_calls_from_its_own_pages() -> None:
    with DevServer(port=0, tls=True) as dev:
        assert dev.ca_bundle is not None
        verify = ssl.create_default_context(cafile=dev.ca_bundle)
        with httpx.Client(base_url=dev.base_url, verify=verify) as http:
            for name in ("localhost", "127.0.0.1"):
                origin = {"Origin": f"https://{name}:{dev.port}", **JSON}
                answer = http.post("/admin/auto_approve", json={"user": None}, headers=origin)
                assert answer.status_code == 200, answer.text
            foreign = {"Origin": f"http://localhost:{dev.port}", **JSON}  # not this server
            assert http.post("/admin/auto_approve", json={}, headers=foreign).status_code == 403
