"""What Okta signs and the verifier now checks: nbf, iat in the future, at_hash, max_age with
auth_time, NaN and infinite times; and one cached key set per issuer for verify_access_token."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, access_claims, id_claims, sign

from okta_nb_auth import (
    AuthSession,
    DiscoveryCache,
    OktaConfig,
    TokenVerificationError,
    TokenVerifier,
    verify_access_token,
)
from okta_nb_auth._verify import at_hash, forget_issuer
from okta_nb_auth.devserver import DevServer

NOW = time.time()
ACCESS = "access-token-that-came-with-the-id-token"


@pytest.fixture
def fake() -> FakeOkta:
    return FakeOkta()


@pytest.fixture
def client(fake: FakeOkta) -> Iterator[httpx.Client]:
    with httpx.Client(transport=fake.transport()) as client:
        yield client


def verifier(**kwargs: Any) -> TokenVerifier:
    kwargs.setdefault("clock", lambda: NOW)
    return TokenVerifier(OktaConfig(ISSUER, CLIENT_ID), discovery=DiscoveryCache(), **kwargs)


def verify(client: httpx.Client, claims: dict[str, Any], **options: Any) -> dict[str, Any]:
    return verifier().verify_id_token(sign(claims), client, **options)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"nbf": NOW + 600}, "not valid before"),
        ({"iat": NOW + 600}, "in the future"),
        ({"exp": math.nan}, "'exp' is not a finite number"),
        ({"exp": math.inf}, "'exp' is not a finite number"),
        ({"iat": -math.inf}, "'iat' is not a finite number"),
        ({"nbf": math.nan}, "'nbf' is not a finite number"),
        ({"exp": 10**400}, "'exp' is not a finite number"),
        ({"exp": "2099-01-01"}, "'exp' is not a finite number"),
        ({"exp": True}, "'exp' is not a finite number"),
    ],
    ids=["nbf-ahead", "iat-ahead", "exp-nan", "exp-inf", "iat-inf", "nbf-nan", "exp-huge",
         "exp-text", "exp-bool"],
)  # fmt: skip
def test_time_claims(client: httpx.Client, changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(TokenVerificationError, match=needle):
        verify(client, id_claims(NOW, **changes))


def test_nbf_within_the_leeway_is_accepted(client: httpx.Client) -> None:
    assert verify(client, id_claims(NOW, nbf=NOW + 60))["sub"] == "00uada"  # leeway 120 s


def test_at_hash_must_match_the_access_token_it_came_with(client: httpx.Client) -> None:
    claims = id_claims(NOW, at_hash=at_hash(ACCESS))
    assert verify(client, claims, access_token=ACCESS)["at_hash"] == at_hash(ACCESS)
    with pytest.raises(TokenVerificationError, match="at_hash"):
        verify(client, claims, access_token=ACCESS + "x")
    with pytest.raises(TokenVerificationError, match="at_hash"):
        verify(client, id_claims(NOW, at_hash=["not", "a", "string"]), access_token=ACCESS)
    assert verify(client, id_claims(NOW), access_token=ACCESS)  # Okta may leave it out


def test_at_hash_is_computed_as_oidc_core_says() -> None:
    # OIDC Core 3.1.3.6 / the spec's own example for RS256 would need its key; check the rule.
    import base64
    import hashlib

    half = hashlib.sha256(b"jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").digest()[:16]
    assert at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") == (
        base64.urlsafe_b64encode(half).rstrip(b"=").decode()
    )
    assert at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") == "77QmUPtjPfzWtF2AnpK9RQ"


def test_max_age_needs_a_recent_auth_time(client: httpx.Client) -> None:
    assert verify(client, id_claims(NOW, auth_time=NOW - 100), max_age=300)
    with pytest.raises(TokenVerificationError, match="longer than max_age"):
        verify(client, id_claims(NOW, auth_time=NOW - 1000), max_age=300)
    with pytest.raises(TokenVerificationError, match="no auth_time"):
        verify(client, id_claims(NOW), max_age=300)
    assert verify(client, id_claims(NOW))  # no max_age asked: auth_time is not required


def test_a_refreshed_id_token_is_checked_against_its_access_token(fake: FakeOkta) -> None:
    fake.rotate = True
    tokens = fake_login(fake)
    with AuthSession(OktaConfig(ISSUER, CLIENT_ID), tokens, transport=fake.transport()) as s:
        refreshed = s.refresh()
        assert refreshed.id_token is not None
        claims = jwt.decode(refreshed.id_token, options={"verify_signature": False})
        assert claims["at_hash"] == at_hash(refreshed.access_token)
        assert s.okta_auth.id_claims is not None  # verified and kept


def fake_login(fake: FakeOkta) -> Any:
    from okta_nb_auth import TokenSet

    return TokenSet(
        "at-old-abcdefghijklmnopqrstuvwxyz",
        time.time() + 3600,
        refresh_token="rt-old-abcdefghijklmnopqrst",
        id_token=sign(id_claims()),
    )


# ------------------------------------------------------------- one key set per issuer


def test_verify_access_token_fetches_the_keys_once_for_many_tokens(fake: FakeOkta) -> None:
    forget_issuer(ISSUER)
    config = OktaConfig(ISSUER, CLIENT_ID)
    with httpx.Client(transport=fake.transport()) as client:
        for _ in range(5):
            claims = verify_access_token(sign(access_claims()), config, client=client)
            assert claims["cid"] == CLIENT_ID
        for n in range(40):  # forged kids: at most one refetch per cooldown
            token = jwt.encode(
                access_claims(), "x" * 32, algorithm="HS256", headers={"kid": f"k{n}"}
            )
            with pytest.raises(TokenVerificationError):
                verify_access_token(token, config, client=client)
    assert fake.jwks_calls == 2  # the first fetch, then one refetch for an unknown kid


def test_verify_access_token_against_the_dev_server_reuses_its_keys(
    fresh_dev: DevServer,
) -> None:
    config = fresh_dev.config("service")
    forget_issuer(config.issuer)
    form = {"grant_type": "client_credentials", "scope": "demo.read"}
    credentials = (config.client_id, config.client_secret or "")
    url = config.issuer + "/v1/token"
    tokens = [httpx.post(url, data=form, auth=credentials).json()["access_token"] for _ in "abc"]
    fetched: list[str] = []

    def note(request: httpx.Request) -> None:
        fetched.append(request.url.path)

    with httpx.Client(event_hooks={"request": [note]}) as client:
        for token in tokens:
            claims = verify_access_token(
                token, config, required_scopes=["demo.read"], client_ids=[config.client_id],
                client=client,
            )  # fmt: skip
            assert claims["cid"] == config.client_id
    assert sum(path.endswith("/v1/keys") for path in fetched) == 1


def service_token(dev: DevServer) -> str:
    config = dev.config("service")
    answer = httpx.post(
        config.issuer + "/v1/token",
        data={"grant_type": "client_credentials", "scope": "demo.read"},
        auth=(config.client_id, config.client_secret or ""),
    )
    return str(answer.json()["access_token"])


def test_a_new_dev_server_at_the_same_address_is_not_judged_by_the_old_keys() -> None:
    port = 0
    for _ in range(3):  # the same issuer URL, new keys each time, seconds apart (as in tests)
        with DevServer(port=port) as dev:
            port, config = dev.port, dev.config("service")
            claims = verify_access_token(service_token(dev), config, client_ids=[config.client_id])
            assert claims["cid"] == config.client_id
