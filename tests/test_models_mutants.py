"""TokenSet, pinned down to what a mutation run changes: each bound of expires_in, the
defaults of a token answer, the exact messages, the refresh token kept from an unusable
answer, and the repr at and around expiry."""

from __future__ import annotations

import copy
import pickle
import re
import time
from typing import Any

import pytest

from okta_nb_auth import ConfigError, PicklingRefused, ProtocolError, TokenSet
from okta_nb_auth._models import MAX_LIFETIME, mask, usable_refresh_token

ACCESS = "access-token-abcdefghijklmnopqrstuvwxyz"
ID = "id-token-abcdefghijklmnopqrstuvwxyz"


def payload(**changes: Any) -> dict[str, Any]:
    body = {"expires_in": 3600, "access_token": ACCESS, **changes}
    return {k: v for k, v in body.items() if v is not None}


def protocol_error(body: Any) -> str:
    with pytest.raises(ProtocolError) as info:
        TokenSet.from_response(body, now=0.0)
    return str(info.value)


@pytest.mark.parametrize("lifetime", [0, MAX_LIFETIME])
def test_expires_in_from_zero_to_the_longest_lifetime_is_believed(lifetime: int) -> None:
    assert TokenSet.from_response(payload(expires_in=lifetime), now=5.0).expires_at == 5 + lifetime


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (["not", "an", "object"], "The token response is not a JSON object."),
        (payload(access_token=None), "The token response has no 'access_token'."),
        (payload(expires_in=None), "The token response has no 'expires_in'; Okta always sends "
                                   "it, so this server is not behaving like Okta. Check the "
                                   "issuer URL."),
        (payload(expires_in=[1]), "The token response's 'expires_in' is not a number (list)."),
        (payload(expires_in=True), "The token response's 'expires_in' is not a number (bool)."),
        (payload(expires_in=MAX_LIFETIME + 1), "The token response's 'expires_in' is negative, "
                                               "not finite or longer than 366 days."),
        (payload(access_token="two words and more than twenty"),
         "The token response's 'access_token' holds characters a token cannot have (spaces, "
         "control or non-ASCII characters)."),
    ],
    ids=["list", "no-access", "no-expires_in", "expires_in-list", "expires_in-bool", "too-long",
         "space"],
)  # fmt: skip
def test_unusable_answers_say_exactly_why(body: Any, message: str) -> None:
    assert protocol_error(body) == message


def test_an_answer_keeps_its_token_type_id_token_and_scope() -> None:
    tokens = TokenSet.from_response(payload(token_type="DPoP", id_token=ID, scope="openid"), 0)
    assert (tokens.token_type, tokens.id_token, tokens.scope) == ("DPoP", ID, "openid")
    assert TokenSet.from_response(payload(), 0).token_type == "Bearer"


def test_the_refresh_token_of_an_unusable_answer_is_still_found() -> None:
    assert usable_refresh_token({"refresh_token": "rt-rotated", "expires_in": "soon"}) == (
        "rt-rotated"
    )
    assert usable_refresh_token({"expires_in": 3600}) is None
    assert usable_refresh_token({"refresh_token": "has a space"}) is None
    assert usable_refresh_token(["refresh_token"]) is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"access_token": ""}, "TokenSet(access_token=...) must be a non-empty string."),
        ({"expires_at": "soon"}, "TokenSet(expires_at=...) must be a finite number of epoch "
                                 "seconds (a NaN or infinite expiry would mean 'never expires')."),
        ({"expires_at": True}, "TokenSet(expires_at=...) must be a finite number of epoch "
                               "seconds (a NaN or infinite expiry would mean 'never expires')."),
        ({"expires_at": 10**400}, "TokenSet(expires_at=...) must be a finite number of epoch "
                                  "seconds (a NaN or infinite expiry would mean 'never expires')."),
        ({"refresh_token": 12}, "TokenSet(refresh_token=...) must be a string or None."),
    ],
    ids=["empty-access", "expiry-text", "expiry-bool", "expiry-huge", "refresh-number"],
)  # fmt: skip
def test_token_sets_built_by_hand_are_checked(fields: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"access_token": ACCESS, "expires_at": 100.0, **fields}
    with pytest.raises(ConfigError) as info:
        TokenSet(**values)
    assert str(info.value) == message


def test_a_token_is_not_expired_until_its_expiry_by_default() -> None:
    tokens = TokenSet(ACCESS, expires_at=100.0)
    assert not tokens.is_expired(now=99.5)
    assert tokens.is_expired(now=100.0)


def test_a_token_set_is_never_pickled_and_copies_are_itself() -> None:
    tokens = TokenSet(ACCESS, expires_at=100.0)
    with pytest.raises(PicklingRefused) as info:
        pickle.dumps(tokens)
    assert str(info.value).startswith("A TokenSet holds a token or secret and is never pickled.")
    assert copy.copy(tokens) is tokens and copy.deepcopy(tokens) is tokens


def test_the_repr_masks_each_token_and_reads_the_expiry() -> None:
    tokens = TokenSet(
        ACCESS, expires_at=time.time() + 3600.2, refresh_token="r" * 30, id_token=ID, scope="x"
    )
    assert repr(tokens) == (
        f"TokenSet(access_token={mask(ACCESS)!r}, refresh_token={mask('r' * 30)!r}, "
        f"id_token={mask(ID)!r}, scope='x', expires in 3600 s)"
    )


@pytest.mark.parametrize(
    ("offset", "state"),
    [(1.2, r"expires in 1 s"), (0.0, r"expired 0 s ago"), (-100.2, r"expired 100 s ago")],
)
def test_the_repr_says_expired_from_the_expiry_on(offset: float, state: str) -> None:
    text = repr(TokenSet(ACCESS, expires_at=time.time() + offset))
    assert re.search(rf", {state}\)$", text), text
