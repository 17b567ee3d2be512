"""``POST .../v1/token`` skips the router (``_token_path``) and the dev server runs on uvicorn's
C parts when they are installed, and on its pure-Python ones when they are not."""

from __future__ import annotations

import importlib.util
import json
import logging
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from devserver_helpers import DEFAULT, client, jwks, token, verify
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver import _uvicorn_options as options
from okta_nb_auth.devserver._http import NO_STORE, oauth_json
from okta_nb_auth.devserver._token_path import TokenPath

# -- routing, without a server: which requests the token handler gets -----------------------


class Recorder:
    """A token handler and a fallback app that note what reached them."""

    def __init__(self, fail: bool = False) -> None:
        self.tokens: list[dict[str, Any]] = []
        self.app_paths: list[str] = []
        self.fail = fail

    async def token(self, request: Request) -> Response:
        self.tokens.append(dict(request.path_params))
        if self.fail:
            raise RuntimeError("a bug in the token endpoint")
        return JSONResponse({"ok": True})

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.app_paths.append(scope["path"])
        await Response("app", status_code=404)(scope, receive, send)


async def _call(
    middleware: TokenPath, method: str, path: str, sent: list[Message] | None = None
) -> list[Message]:
    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    sent = [] if sent is None else sent

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "params"),
    [("/oauth2/v1/token", {}), ("/oauth2/default/v1/token", {"server_id": "default"})],
)
async def test_token_posts_go_to_the_handler(path: str, params: dict[str, str]) -> None:
    seen = Recorder()
    sent = await _call(TokenPath(seen.app, seen.token), "POST", path)
    assert seen.tokens == [params] and seen.app_paths == []
    assert sent[0]["status"] == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/oauth2/v1/token"),
        ("POST", "/oauth2/v1/token/"),
        ("POST", "/oauth2/a/b/v1/token"),
        ("POST", "/oauth2/default/v1/tokens"),
        ("POST", "/oauth2/default/v1/revoke"),
        ("POST", "/xoauth2/v1/token"),
    ],
)
async def test_everything_else_goes_to_the_app(method: str, path: str) -> None:
    seen = Recorder()
    await _call(TokenPath(seen.app, seen.token), method, path)
    assert seen.tokens == [] and seen.app_paths == [path]


@pytest.mark.anyio
async def test_a_failing_handler_answers_500_json_and_reraises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen = Recorder(fail=True)
    sent: list[Message] = []
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError):
        await _call(TokenPath(seen.app, seen.token), "POST", "/oauth2/v1/token", sent)
    assert sent[0]["status"] == 500  # answered first, as Starlette's ServerErrorMiddleware does
    assert b'"error":"server_error"' in sent[1]["body"]
    assert "internal error on POST /oauth2/v1/token: RuntimeError" in caplog.text


# -- over HTTP: the token endpoint's answers around the fast path are the app's --------------


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def test_unknown_server_is_okta_404(dev: DevServer, http: httpx.Client) -> None:
    response = http.post(
        "/oauth2/nope/v1/token", data={"grant_type": "client_credentials", "scope": "demo.read"}
    )
    assert response.status_code == 404
    assert response.json()["errorCode"] == "E0000007"
    assert "nope (AuthorizationServer)" in response.json()["errorSummary"]


def test_get_on_the_token_endpoint_is_405(http: httpx.Client) -> None:
    assert http.get(f"{DEFAULT}/token").status_code == 405


def test_token_answers_carry_date_and_rate_limit_headers(
    dev: DevServer, http: httpx.Client
) -> None:
    response = token(
        http, dev, "service", {"grant_type": "client_credentials", "scope": "demo.read"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-cache, no-store"
    assert response.headers["date"].endswith(" GMT")
    assert int(response.headers["x-rate-limit-remaining"]) >= 0
    assert dev.events[-1].endpoint == "token" and dev.events[-1].status == 200


def test_token_answer_headers_in_order(dev: DevServer, http: httpx.Client) -> None:
    """The headers of a token answer, as Starlette's ``JSONResponse`` gave them (in order)."""
    response = token(
        http, dev, "service", {"grant_type": "client_credentials", "scope": "demo.read"}
    )
    assert [name for name, _ in response.headers.raw] == [
        b"cache-control",
        b"pragma",
        b"expires",
        b"x-rate-limit-limit",
        b"x-rate-limit-remaining",
        b"x-rate-limit-reset",
        b"content-length",
        b"content-type",
        b"date",
    ]
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content == json.dumps(response.json(), separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "headers",
    [None, {}, {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0"}, {"Pragma": "x"}],
)
def test_oauth_json_is_json_response_byte_for_byte(headers: dict[str, str] | None) -> None:
    body = {"token_type": "Bearer", "expires_in": 3600, "scope": "é ü", "n": [1, None, True]}
    ours = oauth_json(body, headers)
    theirs = JSONResponse(dict(body), headers={**NO_STORE, **(headers or {})})
    assert (ours.status_code, ours.body, ours.raw_headers) == (
        theirs.status_code,
        theirs.body,
        theirs.raw_headers,
    )


# -- uvicorn's parts -----------------------------------------------------------------------


def test_options_choose_the_c_parts_when_installed() -> None:
    chosen = options.uvicorn_options()
    has_httptools = importlib.util.find_spec("httptools") is not None
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    assert chosen["http"].__name__ == (
        "CoalescingHttpToolsProtocol" if has_httptools else "CoalescingH11Protocol"
    )
    assert chosen["loop"] == ("uvloop" if has_uvloop else "asyncio")
    assert chosen["lifespan"] == "off" and chosen["date_header"] is False


@pytest.mark.skipif(
    importlib.util.find_spec("httptools") is None, reason="httptools is not installed"
)
def test_server_runs_on_httptools_when_installed(dev: DevServer) -> None:
    config = dev._server.config if dev._server else None
    assert config is not None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert issubclass(config.http_protocol_class, HttpToolsProtocol)


def _serves_tokens(dev: DevServer) -> None:
    trust = ssl.create_default_context(cafile=dev.ca_bundle) if dev.ca_bundle else True
    with client(dev, verify=trust) as http:
        response = token(
            http, dev, "service", {"grant_type": "client_credentials", "scope": "demo.read"}
        )
        assert response.status_code == 200, response.text
        verify(response.json()["access_token"], jwks(http), audience="api://default",
               issuer=dev.issuer)  # fmt: skip


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_server_runs_without_the_c_parts(monkeypatch: pytest.MonkeyPatch, tls: bool) -> None:
    monkeypatch.setattr(options, "installed", lambda module: False)
    with DevServer(port=0, tls=tls) as dev:
        config = dev._server.config if dev._server else None
        assert config is not None
        assert config.loop == "asyncio"
        assert issubclass(config.http_protocol_class, H11Protocol)
        _serves_tokens(dev)


def test_server_runs_with_tls_on_the_default_parts() -> None:
    with DevServer(port=0, tls=True) as dev:
        _serves_tokens(dev)
