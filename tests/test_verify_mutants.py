"""Token verification, pinned down to what a mutation run changes: the exact messages a user
reads, the boundaries of every time check (at the leeway, not past it), the caller's ``now``,
the refresh rules for a restored login (an expired old ID token still names its user), the
verifier's own clock and discovery cache, and the process-wide verifiers."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, access_claims, id_claims, rsa_key, sign

from okta_nb_auth import (
    ConfigError,
    DiscoveryCache,
    OktaConfig,
    ServerMetadata,
    TokenVerificationError,
    TokenVerifier,
    _verify,
    verify_access_token,
)
from okta_nb_auth._drive import run_sync
from okta_nb_auth._verify import at_hash, forget_issuer, shared_verifier
from okta_nb_auth.devserver import DevServer

T = float(int(time.time()))  # a whole second, so boundaries are exact
ACCESS = "access-token-that-came-with-the-id-token"


@pytest.fixture
def fake() -> FakeOkta:
    return FakeOkta()


@pytest.fixture
def client(fake: FakeOkta) -> Iterator[httpx.Client]:
    with httpx.Client(transport=fake.transport()) as client:
        yield client


def verifier(config: OktaConfig | None = None, **kwargs: Any) -> TokenVerifier:
    kwargs.setdefault("clock", lambda: T)
    kwargs.setdefault("discovery", DiscoveryCache())
    return TokenVerifier(config or OktaConfig(ISSUER, CLIENT_ID), **kwargs)


def idc(**changes: Any) -> dict[str, Any]:
    return id_claims(T, **changes)


def acc(**changes: Any) -> dict[str, Any]:
    return access_claims(T, **changes)


def rejected(client: httpx.Client, token: Any, **options: Any) -> str:
    with pytest.raises(TokenVerificationError) as info:
        verifier().verify_id_token(token, client, **options)
    return str(info.value)


def header_token(header: dict[str, Any]) -> str:
    """A token whose header PyJWT would refuse to write (the signature is never reached)."""
    parts = (json.dumps(header), json.dumps(idc()))
    return (
        ".".join(base64.urlsafe_b64encode(p.encode()).decode().rstrip("=") for p in parts) + ".c2ln"
    )


# ------------------------------------------------------------------ what the user reads


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (12345, "The ID token is not a string."),
        ("not.a.jwt", "The ID token was rejected: it is not a well-formed JWT."),
        (sign(idc(aud="someone-else")), "The ID token was rejected: it is meant for another "
                                        "audience."),
        (sign(idc(sub=123)), "The ID token was rejected: it is invalid."),
        (sign({k: v for k, v in idc().items() if k != "sub"}),
         "The ID token was rejected: it lacks a required claim ('sub')."),
        (header_token({"kid": 5}), "The ID token was rejected: it is invalid."),
        (sign(idc(exp="tomorrow")), "The ID token's 'exp' is not a finite number."),
        (sign(idc(iat="today")), "The ID token's 'iat' is not a finite number."),
        (sign(idc(nbf="soon")), "The ID token's 'nbf' is not a finite number."),
        (sign(idc(exp=T - 121, iat=T - 3721)), "The ID token has expired (121 s ago)."),
        (sign(idc(iat=T + 600)), "The ID token was issued 600 s in the future: check the clock."),
        (sign(idc(nbf=T + 600)),
         "The ID token is not valid before 600 s from now: check the clock."),
    ],
    ids=["not-text", "garbage", "audience", "sub-number", "no-sub", "kid-number",
         "exp-text", "iat-text", "nbf-text", "expired", "iat-ahead", "nbf-ahead"],
)  # fmt: skip
def test_id_token_rejections_say_exactly_why(
    client: httpx.Client, token: Any, message: str
) -> None:
    assert rejected(client, token) == message


@pytest.mark.parametrize(
    ("claims", "options", "message"),
    [
        (idc(nonce="a"), {"nonce": "b"}, "The ID token's nonce does not match the one sent."),
        (idc(sub="00ugrace"), {"previous": {"sub": "00uada"}},
         "The refreshed ID token is for another user (its 'sub' changed)."),
        (idc(nonce="n2"), {"previous": {"sub": "00uada", "nonce": "n1"}},
         "The refreshed ID token carries a different nonce."),
        (idc(at_hash=at_hash(ACCESS)), {"access_token": ACCESS + "x"},
         "The ID token's at_hash does not match the access token it came with."),
        (idc(), {"max_age": 300},
         "The login asked for max_age, but the ID token has no auth_time."),
        (idc(auth_time="yesterday"), {"max_age": 300},
         "The ID token's 'auth_time' is not a finite number."),
        (idc(auth_time=T - 1000), {"max_age": 300},
         "The user signed in 1000 s ago, longer than max_age (300 s) allows: sign in again."),
    ],
    ids=["nonce", "sub-changed", "nonce-changed", "at_hash", "no-auth_time", "auth_time-text",
         "max_age"],
)  # fmt: skip
def test_login_checks_say_exactly_why(
    client: httpx.Client, claims: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    assert rejected(client, sign(claims), **options) == message


@pytest.mark.parametrize(
    ("claims", "options", "message"),
    [
        (acc(cid="0oaother"), {}, "The access token was issued to another client."),
        (acc(), {"required_scopes": ["demo.write", "demo.admin"]},
         "The access token lacks the scope(s) demo.admin, demo.write."),
        (acc(exp=T - 500), {}, "The access token has expired (500 s ago)."),
        (acc(iat="now"), {}, "The access token's 'iat' is not a finite number."),
        (acc(aud="api://other"),
         {}, "The access token was rejected: it is meant for another audience."),
    ],
    ids=["client", "scopes", "expired", "iat-text", "audience"],
)  # fmt: skip
def test_access_token_rejections_say_exactly_why(
    client: httpx.Client, claims: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(TokenVerificationError) as info:
        verifier().verify_access_token(sign(claims), client, **options)
    assert str(info.value) == message


def test_access_token_configuration_errors_say_how_to_fix_them(client: httpx.Client) -> None:
    org = verifier(OktaConfig("https://example.okta.com", CLIENT_ID))
    with pytest.raises(ConfigError) as info:
        org.verify_access_token(sign(acc()), client)
    assert str(info.value) == (
        "Access tokens of the org authorization server are meant for Okta's own APIs and must "
        "not be parsed; use a custom authorization server (…/oauth2/<id>)."
    )
    custom = verifier(OktaConfig("https://example.okta.com/oauth2/aus1", CLIENT_ID))
    with pytest.raises(ConfigError) as info:
        custom.verify_access_token(sign(acc()), client)
    assert str(info.value) == (
        "Set OktaConfig(audience=...) to the authorization server's audience (Okta Admin "
        "Console > Security > API > Authorization Servers)."
    )


@pytest.mark.parametrize("error", [TypeError("x"), ValueError("x"), RecursionError("x")])
def test_errors_from_below_pyjwt_read_as_a_malformed_token(error: Exception) -> None:
    message = str(_verify._translated(error, "access token"))
    assert message == "The access token was rejected: it is not a well-formed JWT."


def test_a_scp_that_is_a_string_grants_no_scope(client: httpx.Client) -> None:
    with pytest.raises(TokenVerificationError, match="lacks the scope"):
        verifier().verify_access_token(sign(acc(scp="x")), client, required_scopes=["x"])


# ------------------------------------------------------------------ boundaries and clocks


def test_each_time_check_accepts_a_token_right_at_the_leeway(client: httpx.Client) -> None:
    at_edge = idc(exp=T - 120, iat=T + 120, nbf=T + 120, auth_time=T - 420)
    assert verifier().verify_id_token(sign(at_edge), client, max_age=300)["sub"] == "00uada"


def test_a_second_past_the_default_leeway_is_expired(client: httpx.Client) -> None:
    assert rejected(client, sign(idc(exp=T - 121))) == "The ID token has expired (121 s ago)."


def test_a_login_older_than_max_age_alone_is_accepted_within_the_leeway(
    client: httpx.Client,
) -> None:
    assert verifier().verify_id_token(sign(idc(auth_time=T - 400)), client, max_age=300)


def test_the_callers_now_overrides_the_clock(client: httpx.Client) -> None:
    later = T + 7200
    message = rejected(client, sign(idc()), now=later)
    assert message == "The ID token has expired (3600 s ago)."
    message = rejected(client, sign(idc(auth_time=T)), max_age=300, now=T + 1000)
    assert message.startswith("The user signed in 1000 s ago")
    with pytest.raises(TokenVerificationError, match="expired"):
        verifier().verify_access_token(sign(acc()), client, now=later)


def test_the_expiry_check_alone_can_be_skipped(client: httpx.Client) -> None:
    old = sign(idc(exp=T - 7200, iat=T - 10800))
    assert verifier().verify_id_token(old, client, check_expiry=False)["sub"] == "00uada"
    with pytest.raises(TokenVerificationError, match="in the future"):
        verifier().verify_id_token(sign(idc(iat=T + 600)), client, check_expiry=False)


def test_a_refresh_keeping_the_nonce_is_accepted(client: httpx.Client) -> None:
    previous = {"sub": "00uada", "nonce": "n1"}
    assert verifier().verify_id_token(sign(idc(nonce="n1")), client, previous=previous)


def test_a_token_without_kid_is_checked_against_the_only_key(client: httpx.Client) -> None:
    token = jwt.encode(idc(), rsa_key("k1"), algorithm="RS256")
    assert verifier().verify_id_token(token, client)["sub"] == "00uada"


def test_an_at_hash_that_is_not_text_is_a_mismatch_not_a_crash(client: httpx.Client) -> None:
    message = rejected(client, sign(idc(at_hash="\ud800")), access_token=ACCESS)
    assert message == "The ID token's at_hash does not match the access token it came with."


def test_missing_time_claims_are_refused_even_unrequired() -> None:
    for claims in ({"exp": T}, {"iat": T}):
        with pytest.raises(TokenVerificationError) as info:
            verifier()._check_times(claims, T, "ID token")
        assert str(info.value) == "The ID token lacks an 'exp' or 'iat' claim."


# ------------------------------------------------------------------ keys and discovery


def test_a_filled_discovery_cache_is_used() -> None:
    issuer = "https://cached-only.okta.com/oauth2/default"  # in no process-wide cache
    fake = FakeOkta(issuer)
    discovery = DiscoveryCache()
    discovery.put(ServerMetadata(issuer, f"{issuer}/v1/token", f"{issuer}/v1/keys"))
    checker = verifier(OktaConfig(issuer, CLIENT_ID), discovery=discovery)
    with httpx.Client(transport=fake.transport()) as client:
        assert checker.verify_id_token(sign(idc(iss=issuer)), client)
    assert fake.discovery_calls == 0


def test_the_key_set_ages_by_the_verifiers_clock(fake: FakeOkta, client: httpx.Client) -> None:
    now = [T]
    checker = verifier(clock=lambda: now[0])
    checker.verify_id_token(sign(idc()), client)
    now[0] = T + 86400  # the fake's keys say max-age=86400
    checker.verify_id_token(sign(idc(iat=now[0], exp=now[0] + 60)), client)
    assert fake.jwks_calls == 2


def test_an_unknown_kid_refetches_once_per_cooldown(fake: FakeOkta, client: httpx.Client) -> None:
    now = [T]
    checker = verifier(clock=lambda: now[0])
    for _ in range(3):  # the first fetch, one refetch for the unknown kid, then none
        with pytest.raises(TokenVerificationError, match="signing key id"):
            checker.verify_id_token(sign(idc(), kid="other"), client)
    assert fake.jwks_calls == 2
    now[0] = T + 60  # exactly one cooldown later
    with pytest.raises(TokenVerificationError, match="signing key id"):
        checker.verify_id_token(sign(idc(), kid="other"), client)
    assert fake.jwks_calls == 3


def test_the_refetch_cooldown_is_the_verifiers(fake: FakeOkta, client: httpx.Client) -> None:
    checker = verifier(refetch_cooldown=0)
    for _ in range(3):
        with pytest.raises(TokenVerificationError, match="signing key id"):
            checker.verify_id_token(sign(idc(), kid="other"), client)
    assert fake.jwks_calls == 3


# ------------------------------------------------------------------ the ID token of a refresh


def refreshed(client: httpx.Client, new: str, old: str | None, previous: Any, **kw: Any) -> Any:
    flow = verifier().refreshed_id_token_flow(new, old, previous, **kw)
    return run_sync(flow, client)


def test_a_refresh_with_known_claims_does_not_reread_the_old_token(client: httpx.Client) -> None:
    claims = refreshed(client, sign(idc()), "not-a-token", {"sub": "00uada"})
    assert claims["sub"] == "00uada"


def test_a_restored_login_learns_the_user_from_its_expired_id_token(
    client: httpx.Client,
) -> None:
    old = sign(idc(exp=T - 7200, iat=T - 10800))  # long expired: restored from a store
    assert refreshed(client, sign(idc()), old, None)["sub"] == "00uada"
    other = sign(idc(sub="00ugrace", exp=T - 7200, iat=T - 10800))
    with pytest.raises(TokenVerificationError) as info:
        refreshed(client, sign(idc()), other, None)
    assert str(info.value) == "The refreshed ID token is for another user (its 'sub' changed)."


def test_the_old_id_token_is_judged_at_the_callers_now_too(client: httpx.Client) -> None:
    ahead = T + 3600  # the server's clock (from its Date header), an hour ahead of ours
    old = sign(idc(iat=ahead - 60, exp=ahead + 3540))  # "issued in the future" by our clock
    new = sign(idc(iat=ahead, exp=ahead + 3600))
    assert refreshed(client, new, old, None, now=ahead)["sub"] == "00uada"


def test_a_refreshed_id_token_is_checked_at_the_callers_now_and_access_token(
    client: httpx.Client,
) -> None:
    with pytest.raises(TokenVerificationError, match="expired"):
        refreshed(client, sign(idc()), None, {"sub": "00uada"}, now=T + 7200)
    new = sign(idc(at_hash=at_hash(ACCESS)))
    assert refreshed(client, new, None, {"sub": "00uada"}, access_token=ACCESS)
    with pytest.raises(TokenVerificationError, match="at_hash"):
        refreshed(client, new, None, {"sub": "00uada"}, access_token=ACCESS + "x")


def test_keys_out_of_reach_drop_the_refreshed_id_token_with_a_warning(caplog: Any) -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    discovery = DiscoveryCache()
    discovery.put(ServerMetadata(ISSUER, f"{ISSUER}/v1/token", f"{ISSUER}/v1/keys"))
    flow = verifier(discovery=discovery).refreshed_id_token_flow(sign(idc()), None, None)
    with httpx.Client(transport=down) as client, caplog.at_level(logging.WARNING):
        assert run_sync(flow, client) is None
    [record] = [r for r in caplog.records if r.name == "okta_nb_auth"]
    message = record.getMessage()
    assert message.startswith(
        f"Could not verify the new ID token (Could not fetch the signing keys from {ISSUER}/v1/keys"
    )
    assert message.endswith("); it was not kept.")


@pytest.mark.anyio
async def test_the_async_twins_pass_the_options_on(fake: FakeOkta) -> None:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        with pytest.raises(TokenVerificationError, match="nonce"):
            await verifier().averify_id_token(sign(idc(nonce="a")), client, nonce="b")
        with pytest.raises(TokenVerificationError, match=r"demo\.write"):
            await verifier().averify_access_token(
                sign(acc()), client, required_scopes=["demo.write"]
            )


# ------------------------------------------------------------------ process-wide verifiers


def test_shared_verifiers_have_the_leeway_asked_for() -> None:
    config = OktaConfig("https://leeway.okta.com/oauth2/default", CLIENT_ID)
    try:
        assert shared_verifier(config).leeway == 120.0
        assert shared_verifier(config, 5.0).leeway == 5.0
    finally:
        forget_issuer(config.issuer)


def test_at_most_32_shared_verifiers_are_kept_the_oldest_dropped() -> None:
    configs = [OktaConfig(f"https://e{n}.okta.com/oauth2/default", CLIENT_ID) for n in range(33)]
    try:
        first = shared_verifier(configs[0])
        for config in configs[1:]:
            shared_verifier(config)
        assert len(_verify._SHARED) == 32
        assert shared_verifier(configs[0]) is not first
    finally:
        for config in configs:
            forget_issuer(config.issuer)


def test_forgetting_an_issuer_keeps_the_other_issuers_verifiers() -> None:
    kept, gone = (OktaConfig(f"https://{n}.okta.com/oauth2/default", CLIENT_ID) for n in "kg")
    try:
        first_kept, first_gone = shared_verifier(kept), shared_verifier(gone)
        forget_issuer(gone.issuer)
        assert shared_verifier(kept) is first_kept
        assert shared_verifier(gone) is not first_gone
    finally:
        forget_issuer(kept.issuer)
        forget_issuer(gone.issuer)


def test_verify_access_token_uses_the_shared_verifier(fake: FakeOkta) -> None:
    forget_issuer(ISSUER)
    config = OktaConfig(ISSUER, CLIENT_ID)
    with httpx.Client(transport=fake.transport()) as client:
        assert verify_access_token(sign(access_claims()), config, client=client)
        assert shared_verifier(config).verify_access_token(sign(access_claims()), client)
        with pytest.raises(TokenVerificationError, match=r"demo\.write"):
            verify_access_token(
                sign(access_claims()), config, client=client, required_scopes=["demo.write"]
            )
        stale = access_claims(exp=int(time.time()) - 200)
        assert verify_access_token(sign(stale), config, client=client, leeway=300)
    assert fake.jwks_calls == 1  # verifiers of any leeway share the issuer's key set


def test_verify_access_token_allows_120_s_of_leeway_by_default(fake: FakeOkta) -> None:
    forget_issuer(ISSUER)
    config = OktaConfig(ISSUER, CLIENT_ID)
    now = int(time.time())  # so the token below expired between 120 and 121 s ago
    with httpx.Client(transport=fake.transport()) as client:
        assert verify_access_token(sign(access_claims(exp=now - 119)), config, client=client)
        with pytest.raises(TokenVerificationError, match="expired"):
            verify_access_token(sign(access_claims(exp=now - 120)), config, client=client)


def test_verify_access_token_with_its_own_client_checks_the_scopes(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("service")
    forget_issuer(config.issuer)
    answer = httpx.post(
        config.issuer + "/v1/token",
        data={"grant_type": "client_credentials", "scope": "demo.read"},
        auth=(config.client_id, config.client_secret or ""),
    )
    token = answer.json()["access_token"]
    with pytest.raises(TokenVerificationError, match=r"demo\.write"):
        verify_access_token(token, config, required_scopes=["demo.write"])
