"""Benchmark: the cost of a refresh with and without verifying the new ID token.

``AuthSession.refresh()`` with ``OktaAuth(verify_id_tokens=True)`` (the default: signature,
issuer, audience, expiry, ``at_hash`` and the same subject as before) against
``verify_id_tokens=False``, two ways:

1. ``httpx.MockTransport`` (the client alone): the token answers, each with an RS256 ID token,
   are signed before the timing starts, so the figure is what the client does per refresh;
2. the dev server in its own process (the server signs, so its work dilutes the ratio).

Each round refreshes both sessions ``n`` times, in a random order; the ratio is the median of
per-round ratios (verified / not verified). Discovery and keys are fetched before timing.

    .venv/bin/python bench/bench_refresh.py [--quick]
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import benchkit
import httpx
import jwt
from benchkit import Admin, Row, dev_server, fmt_us, median_ratio, row
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_nb_auth import AuthSession, OktaAuth, OktaConfig, TokenSet
from okta_nb_auth._verify import at_hash

__all__ = ["results"]

SECTION = "refresh"
ISSUER = "https://bench.okta.test/oauth2/default"
CLIENT_ID = "0oabench000000000000"
ARMS = ("verified", "not verified")


class MockOkta:
    """Discovery, keys and a token endpoint answering pre-signed refresh responses."""

    def __init__(self, answers: int) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.answers = [self.body(n) for n in range(answers)]

    def body(self, n: int) -> dict[str, Any]:
        now = int(time.time())
        access = f"access-{n:06d}-" + "a" * 800
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "00uada", "iat": now}
        claims |= {"exp": now + 3600, "at_hash": at_hash(access), "jti": f"ID.{n}"}
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
        return {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": access,
            "refresh_token": "refresh-static",
            "id_token": id_token,
            "scope": "openid email profile offline_access",
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/openid-configuration"):
            doc = {"issuer": ISSUER, "token_endpoint": ISSUER + "/v1/token"}
            return httpx.Response(200, json=doc | {"jwks_uri": ISSUER + "/v1/keys"})
        if path.endswith("/v1/keys"):
            return httpx.Response(200, json=self.jwks)
        return httpx.Response(200, json=self.answers.pop())


def session(config: OktaConfig, body: dict[str, Any], verify: bool, **kw: Any) -> AuthSession:
    auth = OktaAuth(config, TokenSet.from_response(body), verify_id_tokens=verify)
    return AuthSession(config, okta_auth=auth, **kw)


def timed(sessions: dict[str, AuthSession], rounds: int, n: int) -> dict[str, list[float]]:
    def subject(s: AuthSession) -> Callable[[], float]:
        return lambda: benchkit.per_request(s.refresh, n)

    for s in sessions.values():  # warm-up: discovery, keys
        s.refresh()
    subjects = {name: subject(s) for name, s in sessions.items()}
    return benchkit.shuffled_rounds(subjects, rounds, random.Random())


def _row(where: str, times: dict[str, list[float]], checked: bool, note: str) -> Row:
    ratio = median_ratio(times["verified"], times["not verified"])
    med = {name: statistics.median(values) for name, values in times.items()}
    extra = med["verified"] - med["not verified"]
    return row(
        SECTION,
        f"refresh with ID-token verification vs without ({where})",
        fmt_us(med["verified"]),
        baseline=fmt_us(med["not verified"]),
        ratio=ratio,
        note=f"verification adds {extra * 1e6:.0f} µs per refresh; {note}"
        + ("" if checked else "; CHECK FAILED: claims not verified"),
    )


def mock_rows(rounds: int, n: int) -> Row:
    okta = MockOkta(answers=2 * (rounds * n + 2))
    config = OktaConfig(issuer=ISSUER, client_id=CLIENT_ID)
    transport = httpx.MockTransport(okta.handle)
    first = okta.answers.pop()
    sessions = {arm: session(config, first, arm == "verified", transport=transport) for arm in ARMS}
    times = timed(sessions, rounds, n)
    checked = sessions["verified"].okta_auth._id_claims is not None
    for s in sessions.values():
        s.close()
    return _row("MockTransport", times, checked, f"{rounds} rounds x {n} refreshes")


def server_rows(rounds: int, n: int) -> Row:
    with dev_server() as base:
        admin = Admin(base)
        config = admin.config()
        sessions = {arm: session(config, admin.login(), arm == "verified") for arm in ARMS}
        times = timed(sessions, rounds, n)
        checked = sessions["verified"].okta_auth._id_claims is not None
        for s in sessions.values():
            s.close()
        admin.close()
    return _row("dev server", times, checked, f"{rounds} rounds x {n} refreshes; server signs")


def results(quick: bool = False) -> list[Row]:
    """The section's rows (contract of ``bench/report.py``)."""
    rounds, n = (3, 10) if quick else (15, 60)
    return [mock_rows(rounds, n), server_rows(rounds, n // 2)]


if __name__ == "__main__":
    benchkit.main(results, __doc__)
