"""A scripted, in-process Okta for unit tests: signs real RS256 tokens, counts token calls.

Used through :class:`httpx.MockTransport`, so faults are exact and tests never wait.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_nb_auth._verify import at_hash

ISSUER = "https://example.okta.com/oauth2/default"
CLIENT_ID = "0oa1clientid000000000"

_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def rsa_key(kid: str) -> rsa.RSAPrivateKey:
    """One RSA key per kid, generated once per test run (generation is slow)."""
    if kid not in _KEYS:
        _KEYS[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[kid]


def jwk(kid: str) -> dict[str, Any]:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(kid).public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def sign(claims: dict[str, Any], kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(claims, rsa_key(kid), algorithm=alg, headers={"kid": kid})


def id_claims(now: float | None = None, **extra: Any) -> dict[str, Any]:
    now = time.time() if now is None else now
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "00uada",
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    claims.update(extra)
    return claims


def access_claims(now: float | None = None, **extra: Any) -> dict[str, Any]:
    now = time.time() if now is None else now
    claims = {
        "iss": ISSUER,
        "aud": "api://default",
        "sub": "ada@example.com",
        "cid": CLIENT_ID,
        "scp": ["openid", "demo.read"],
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    claims.update(extra)
    return claims


class FakeOkta:
    """Discovery, JWKS, a token endpoint and an API at ``https://api.example.com``.

    ``token_script`` is a list of callables (or responses) consumed one per token call;
    when empty, a normal refresh response is returned. Thread-safe.
    """

    def __init__(self, issuer: str = ISSUER, kids: tuple[str, ...] = ("k1",)) -> None:
        self.issuer = issuer
        self.kids = list(kids)
        self.signing_kid = kids[0]
        self.lock = threading.Lock()
        self.token_calls: list[dict[str, str]] = []
        self.token_headers: list[httpx.Headers] = []
        self.jwks_calls = 0
        self.discovery_calls = 0
        self.api_calls = 0
        self.token_script: list[Callable[[httpx.Request], httpx.Response] | httpx.Response] = []
        self.expires_in: Any = 3600
        self.rotate = False
        self.sub = "00uada"
        self.api_status: list[int] = []  # scripted API statuses, consumed first
        self.counter = 0
        self.discovery_doc: dict[str, Any] | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def metadata(self) -> dict[str, Any]:
        base = self.issuer
        return self.discovery_doc or {
            "issuer": base,
            "token_endpoint": f"{base}/v1/token",
            "jwks_uri": f"{base}/v1/keys",
            "revocation_endpoint": f"{base}/v1/revoke",
            "device_authorization_endpoint": f"{base}/v1/device/authorize",
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            with self.lock:
                self.discovery_calls += 1
            return httpx.Response(200, json=self.metadata())
        if path.endswith("/v1/keys"):
            with self.lock:
                self.jwks_calls += 1
            return httpx.Response(
                200,
                json={"keys": [jwk(k) for k in self.kids]},
                headers={"Cache-Control": "max-age=86400, must-revalidate"},
            )
        if path.endswith("/v1/token"):
            return self.token(request)
        if path.endswith("/v1/revoke"):
            with self.lock:
                self.token_calls.append(dict(parse_qsl(request.content.decode())))
            return httpx.Response(200)
        return self.api(request)

    def token(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            form = dict(parse_qsl(request.content.decode()))
            self.token_calls.append(form)
            self.token_headers.append(request.headers)
            step = self.token_script.pop(0) if self.token_script else None
            self.counter += 1
            n = self.counter
        if isinstance(step, httpx.Response):
            return step
        if step is not None:
            return step(request)
        return httpx.Response(200, json=self.token_body(n, form))

    def token_body(self, n: int, form: dict[str, str]) -> dict[str, Any]:
        now = time.time()
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "access_token": f"access-token-number-{n:04d}-abcdefghijklmnop",
            "scope": "openid email profile offline_access",
        }
        if form.get("grant_type") == "refresh_token":
            claims = id_claims(now, sub=self.sub, jti=f"ID.fake-{n:04d}")  # each one differs
            claims["at_hash"] = at_hash(body["access_token"])  # as Okta signs it
            body["id_token"] = sign(claims, self.signing_kid)
            if self.rotate:
                body["refresh_token"] = f"refresh-token-number-{n:04d}-abcdefghijkl"
        return body

    def api(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.api_calls += 1
            status = self.api_status.pop(0) if self.api_status else 200
        if status != 200:
            return httpx.Response(status, headers={"WWW-Authenticate": 'Bearer error="x"'})
        auth = request.headers.get("Authorization", "")
        return httpx.Response(200, json={"auth": auth[:30], "body": request.content.decode()})


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)
