"""The token calls of OktaAuth (TokenFetcher) over the scripted in-process Okta, pinned down to
what a mutation run changes: which ID token a refresh keeps (verified, unverified, missing,
judged by the server's clock), the rotated refresh token of an unusable answer, the discovery
cache and key set it uses, the sleep it is given, and sessions finding the holder of a
refreshed login."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, id_claims, sign

from okta_nb_auth import (
    AuthSession,
    DiscoveryCache,
    OktaAuth,
    OktaConfig,
    ProtocolError,
    RateLimited,
    ServerMetadata,
    TokenSet,
)

API = "https://api.example.com/data"
CONFIG = OktaConfig(ISSUER, CLIENT_ID)
NO_EXPIRES_IN = (
    "The token response has no 'expires_in'; Okta always sends it, so this server is not "
    "behaving like Okta. Check the issuer URL."
)


def live(id_token: str | None = None, *, at: float | None = None) -> TokenSet:
    """An expired login (by the clock ``at``) with a refresh token and ``id_token``."""
    return TokenSet(
        "at-old-abcdefghijklmnopqrstuvwxyz",
        (time.time() if at is None else at) - 1,
        refresh_token="rt-old-abcdefghijklmnopqrst",
        id_token=id_token,
    )


def holder(start: TokenSet, **options: Any) -> OktaAuth:
    options.setdefault("discovery", DiscoveryCache())
    return OktaAuth(CONFIG, start, **options)


def session(fake: FakeOkta, auth: OktaAuth, transport: Any = None) -> AuthSession:
    return AuthSession(CONFIG, okta_auth=auth, transport=transport or fake.transport())


def jti(token: str | None) -> Any:
    assert token is not None
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def answer_with(fake: FakeOkta, edit: Callable[[dict[str, Any]], None], **headers: str) -> None:
    """The next token answer: FakeOkta's own, changed by ``edit``."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = fake.token_body(1, {"grant_type": "refresh_token"})
        edit(body)
        return httpx.Response(200, json=body, headers=headers)

    fake.token_script = [handler]


def warnings_of(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ------------------------------------------------------------------ the ID token of a refresh


def test_a_restored_login_keeps_refreshing_after_its_id_token_expired() -> None:
    old = sign(id_claims(time.time() - 7200))  # expired an hour ago; no stored claims
    fake = FakeOkta()
    with session(fake, holder(live(old))) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and jti(s.tokens.id_token) == "ID.fake-0001"
        assert s.okta_auth.id_claims is not None
        assert s.okta_auth.id_claims["jti"] == "ID.fake-0001"


def test_a_restored_login_is_judged_by_the_servers_clock(caplog: Any) -> None:
    ours = time.time() - 3600  # this computer's clock is an hour behind Okta's
    fake = FakeOkta()
    answer_with(fake, lambda body: None, Date=email.utils.formatdate(usegmt=True))
    auth = holder(live(sign(id_claims()), at=ours), clock=lambda: ours)
    with caplog.at_level(logging.WARNING), session(fake, auth) as s:
        assert s.get(API).status_code == 200
        assert auth.skew == pytest.approx(3600, abs=5)
        assert s.tokens is not None and jti(s.tokens.id_token) == "ID.fake-0001"
        assert auth.id_claims is not None and auth.id_claims["jti"] == "ID.fake-0001"
    assert warnings_of(caplog) == []


def test_known_claims_spare_reading_the_old_id_token() -> None:
    fake = FakeOkta()
    auth = holder(live("not-a-token-but-known-to-be-ada"))
    auth.set_tokens(live("not-a-token-but-known-to-be-ada"), id_claims={"sub": "00uada"})
    with session(fake, auth) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and jti(s.tokens.id_token) == "ID.fake-0001"


def test_a_refresh_without_an_id_token_keeps_the_old_one_and_its_claims(caplog: Any) -> None:
    fake = FakeOkta()
    answer = {"token_type": "Bearer", "expires_in": 3600, "access_token": "a" * 40}
    fake.token_script = [httpx.Response(200, json=answer)]
    old = sign(id_claims())
    auth = holder(live(old))
    auth.set_tokens(live(old), id_claims={"sub": "00uada", "mark": 1})
    with caplog.at_level(logging.WARNING), session(fake, auth) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and s.tokens.id_token == old
        assert auth.id_claims == {"sub": "00uada", "mark": 1}
    assert fake.jwks_calls == 0 and warnings_of(caplog) == []


def test_without_verification_the_new_id_token_is_kept_unread() -> None:
    fake = FakeOkta()
    with session(fake, holder(live(sign(id_claims())), verify_id_tokens=False)) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and jti(s.tokens.id_token) == "ID.fake-0001"
        assert s.okta_auth.id_claims is None
    assert fake.jwks_calls == 0


def test_client_credentials_never_verify_an_id_token() -> None:
    fake = FakeOkta()
    answer = {"token_type": "Bearer", "expires_in": 3600, "access_token": "a" * 40,
              "id_token": "not.a.jwt"}  # fmt: skip
    fake.token_script = [httpx.Response(200, json=answer)]
    config = OktaConfig(ISSUER, "svc", "s" * 40)
    auth = OktaAuth(config, grant="client_credentials", discovery=DiscoveryCache())
    with AuthSession(config, okta_auth=auth, transport=fake.transport()) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and s.tokens.id_token == "not.a.jwt"
    assert fake.jwks_calls == 0


def test_a_verified_new_id_token_replaces_the_old_one_and_its_claims() -> None:
    fake = FakeOkta()
    auth = holder(live(sign(id_claims())))
    auth.set_tokens(live(sign(id_claims())), id_claims={"sub": "00uada"})
    with session(fake, auth) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and jti(s.tokens.id_token) == "ID.fake-0001"
        assert auth.id_claims is not None and auth.id_claims["jti"] == "ID.fake-0001"


def test_an_id_token_for_another_access_token_is_dropped_with_a_warning(caplog: Any) -> None:
    fake = FakeOkta()
    answer_with(fake, lambda body: body.update(access_token="b" * 40))
    old = sign(id_claims())
    with caplog.at_level(logging.WARNING), session(fake, holder(live(old))) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None and s.tokens.access_token == "b" * 40
        assert s.tokens.id_token == old
    assert warnings_of(caplog) == [
        "The refreshed ID token was not kept: The ID token's at_hash does not match the access "
        "token it came with."
    ]


# ------------------------------------------------------------------ discovery, keys, sleep


def test_a_filled_discovery_cache_serves_refresh_verification_and_logout() -> None:
    issuer = "https://cached-only.okta.com/oauth2/default"  # in no process-wide cache
    fake, config = FakeOkta(issuer), OktaConfig(issuer, CLIENT_ID)
    discovery = DiscoveryCache()
    metadata = {"revocation_endpoint": f"{issuer}/v1/revoke"}
    discovery.put(ServerMetadata(issuer, f"{issuer}/v1/token", f"{issuer}/v1/keys", raw=metadata))
    start = live(sign(id_claims(iss=issuer)))
    auth = OktaAuth(config, start, discovery=discovery)
    with AuthSession(config, okta_auth=auth, transport=fake.transport()) as s:
        assert s.get(API).status_code == 200
        s.logout()
    assert fake.discovery_calls == 0
    assert [call.get("token_type_hint") for call in fake.token_calls[1:]] == [
        "refresh_token",
        "access_token",
    ]


def test_the_key_set_ages_by_the_holders_clock() -> None:
    fake = FakeOkta()
    now = [time.time()]
    auth = holder(live(sign(id_claims())), clock=lambda: now[0])
    with session(fake, auth) as s:
        s.get(API)
        now[0] += 2 * 86400  # past the keys' max-age of a day, by this holder's clock
        s.get(API)
    assert fake.jwks_calls == 2


def test_retries_of_a_sync_session_sleep_with_the_given_sleep() -> None:
    fake = FakeOkta()
    fake.token_script = [httpx.Response(503)]
    pauses: list[float] = []
    with session(fake, holder(live(), sleep=pauses.append)) as s:
        assert s.get(API).status_code == 200
    assert pauses == [0.5]


def test_a_rate_limited_logout_says_when_to_retry() -> None:
    fake = FakeOkta()
    original = fake.handle

    def limited(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/revoke"):
            reset = {"X-Rate-Limit-Reset": str(int(time.time() + 30))}
            return httpx.Response(429, headers=reset)
        return original(request)

    with session(fake, holder(live()), httpx.MockTransport(limited)) as s:
        with pytest.raises(RateLimited, match=r"retry in \d+ s"):
            s.logout()
        assert s.tokens is None


# ------------------------------------------------------------------ the rotated refresh token


def refresh_failing(fake: FakeOkta, auth: OktaAuth) -> None:
    with session(fake, auth) as s, pytest.raises(ProtocolError):
        s.get(API)


def test_an_unusable_answer_keeps_its_rotated_refresh_token_and_says_so(caplog: Any) -> None:
    fake = FakeOkta()
    fake.rotate = True
    answer_with(fake, lambda body: body.pop("expires_in"))
    seen: list[TokenSet] = []
    auth = holder(live(), on_tokens=seen.append)
    with caplog.at_level(logging.WARNING):
        refresh_failing(fake, auth)
    assert auth.tokens is not None
    assert auth.tokens.refresh_token == "refresh-token-number-0001-abcdefghijkl"
    assert seen == [auth.tokens]
    assert warnings_of(caplog) == [
        f"Keeping the rotated refresh token of an unusable token answer ({NO_EXPIRES_IN})"
    ]
    assert AuthSession(CONFIG, auth.tokens).okta_auth is auth  # found by its new token


@pytest.mark.parametrize(
    "edit",
    [
        lambda body: body.pop("expires_in"),  # and no refresh token at all
        lambda body: body.update(refresh_token="rt-old-abcdefghijklmnopqrst", expires_in="x"),
    ],
    ids=["none", "the-same"],
)
def test_an_unusable_answer_without_a_new_refresh_token_changes_nothing(
    edit: Callable[[dict[str, Any]], None],
) -> None:
    fake = FakeOkta()
    answer_with(fake, edit)
    seen: list[TokenSet] = []
    auth = holder(live(), on_tokens=seen.append)
    refresh_failing(fake, auth)
    assert auth.tokens is not None and auth.tokens.refresh_token == "rt-old-abcdefghijklmnopqrst"
    assert seen == []


def test_a_refresh_token_in_an_error_answer_is_not_taken() -> None:
    fake = FakeOkta()
    refused = {"errorSummary": "Bad request", "refresh_token": "rt-from-an-error-abcdefgh"}
    fake.token_script = [httpx.Response(400, json=refused)]
    auth = holder(live())
    refresh_failing(fake, auth)
    assert auth.tokens is not None and auth.tokens.refresh_token == "rt-old-abcdefghijklmnopqrst"


def test_a_session_built_from_refreshed_tokens_shares_their_holder() -> None:
    fake = FakeOkta()
    fake.rotate = True
    auth = holder(live())
    with session(fake, auth) as s:
        s.get(API)
    assert auth.tokens is not None and auth.tokens.refresh_token != "rt-old-abcdefghijklmnopqrst"
    assert AuthSession(CONFIG, auth.tokens).okta_auth is auth
