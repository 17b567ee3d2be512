"""TokenSet: expiry from expires_in, merging, validation, and a repr without tokens."""

from __future__ import annotations

import pytest

from okta_nb_auth import ProtocolError, TokenSet

ACCESS = "eyJhbGciOiJSUzI1NiJ9." + "a" * 200 + ".sig" + "b" * 40
REFRESH = "i6mapTIAVSp2oJkgUnCACKKfZxt_H5MBLiqcybBBd04"


def payload(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": ACCESS,
        "scope": "openid offline_access",
        "refresh_token": REFRESH,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_expires_at_comes_from_expires_in_at_receipt() -> None:
    tokens = TokenSet.from_response(payload(expires_in=300), now=1000.0)
    assert tokens.expires_at == 1300.0
    assert tokens.expires_in(now=1100.0) == 200.0
    assert not tokens.is_expired(leeway=60, now=1200.0)
    assert tokens.is_expired(leeway=60, now=1240.0)
    assert tokens.scopes == ("openid", "offline_access")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expires_in": None}, "no 'expires_in'"),
        ({"expires_in": "soon"}, "not a number"),
        ({"expires_in": -5}, "negative"),
        ({"access_token": None}, "no 'access_token'"),
        ({"refresh_token": 12}, "'refresh_token' is not a non-empty string"),
    ],
)
def test_malformed_responses_raise_protocol_error(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        TokenSet.from_response(payload(**changes))


def test_non_object_payload_is_rejected() -> None:
    with pytest.raises(ProtocolError):
        TokenSet.from_response(["not", "a", "dict"])  # type: ignore[arg-type]


def test_merge_keeps_old_refresh_and_id_tokens_when_omitted() -> None:
    old = TokenSet.from_response(payload(id_token="eyJ.old.id" + "x" * 30), now=0)
    new = TokenSet.from_response(payload(refresh_token=None, scope="offline_access"), now=10)
    merged = old.merged_with(new)
    assert merged.refresh_token == REFRESH
    assert merged.id_token == old.id_token
    assert merged.expires_at == new.expires_at
    rotated = old.merged_with(TokenSet.from_response(payload(refresh_token="n" * 43), now=10))
    assert rotated.refresh_token == "n" * 43


def test_repr_and_str_never_show_a_full_token() -> None:
    tokens = TokenSet.from_response(payload(id_token="eyJ" + "i" * 100))
    for text in (repr(tokens), str(tokens), f"{tokens}", f"{tokens!r}"):
        assert ACCESS not in text
        assert REFRESH not in text
        assert "i" * 20 not in text
        assert "[masked]" in text
        assert "expires in" in text


def test_token_set_is_immutable() -> None:
    tokens = TokenSet.from_response(payload())
    with pytest.raises(AttributeError):
        tokens.access_token = "x"  # type: ignore[misc]
