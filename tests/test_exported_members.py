"""The public API is exactly ``okta_nb_auth.__all__``: nothing private leaks into it."""

from __future__ import annotations

import types

import okta_nb_auth

ISSUE_3_NAMES = {
    "DEFAULT_SCOPES",
    "AsyncAuthSession",
    "AuthSession",
    "DiscoveryCache",
    "OktaAuth",
    "OktaConfig",
    "ServerMetadata",
    "TokenVerifier",
    "make_pkce",
    "pkce_challenge",
    "verify_access_token",
}
ISSUE_8_NAMES = {
    "FileStore",
    "KeyringStore",
    "MemoryStore",
    "StoreError",
    "StoreWarning",
    "TokenStore",
}


def test_every_exported_name_exists() -> None:
    for name in okta_nb_auth.__all__:
        assert getattr(okta_nb_auth, name) is not None, name


def test_all_is_unique_and_holds_the_session_api() -> None:
    assert len(set(okta_nb_auth.__all__)) == len(okta_nb_auth.__all__)
    assert set(okta_nb_auth.__all__) >= ISSUE_3_NAMES | ISSUE_8_NAMES


def test_no_public_name_outside_all() -> None:
    # Objects defined by this package and reachable as public attributes must be in __all__.
    ours = {
        name
        for name, value in vars(okta_nb_auth).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "").startswith("okta_nb_auth")
    }
    assert ours <= set(okta_nb_auth.__all__)


def test_public_objects_say_where_they_live() -> None:
    for name in ISSUE_3_NAMES:
        value = getattr(okta_nb_auth, name)
        if isinstance(value, type) or callable(value):
            assert value.__module__.startswith("okta_nb_auth."), name
            assert value.__doc__, f"{name} has no docstring"
