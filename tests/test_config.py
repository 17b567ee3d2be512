"""OktaConfig: normalisation, the http rule, auth-method defaults, from_env, masking."""

from __future__ import annotations

import dataclasses

import pytest

from okta_nb_auth import DEFAULT_SCOPES, ConfigError, OktaConfig
from okta_nb_auth._config import INSECURE_HTTP_ENV

SECRET = "5jVbn2W72FOAWeQCg7-s_PA0aLqHWjHvUCt2xk-z"


@pytest.fixture(autouse=True)
def _no_insecure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INSECURE_HTTP_ENV, raising=False)


def test_defaults_and_trailing_slash() -> None:
    config = OktaConfig("https://dev-1.okta.com/oauth2/default/", "0oa1")
    assert config.issuer == "https://dev-1.okta.com/oauth2/default"
    assert config.scopes == DEFAULT_SCOPES == ("openid", "email", "profile", "offline_access")
    assert config.token_endpoint_auth_method == "none"
    assert config.client_secret is None


@pytest.mark.parametrize(
    ("issuer", "custom", "audience"),
    [
        ("https://dev-1.okta.com", False, None),
        ("https://dev-1.okta.com/oauth2/default", True, "api://default"),
        ("https://dev-1.okta.com/oauth2/aus17ole72l3gv8RR698", True, None),
    ],
)
def test_org_vs_custom_server(issuer: str, custom: bool, audience: str | None) -> None:
    config = OktaConfig(issuer, "0oa1")
    assert config.is_custom_server is custom
    assert config.expected_audience == audience


def test_explicit_audience_wins() -> None:
    config = OktaConfig("https://dev-1.okta.com/oauth2/aus1", "0oa1", audience="api://mine")
    assert config.expected_audience == "api://mine"


def test_secret_defaults_to_basic_and_post_is_accepted() -> None:
    assert OktaConfig("https://x.okta.com", "c", SECRET).auth_method == "client_secret_basic"
    post = OktaConfig(
        "https://x.okta.com", "c", SECRET, token_endpoint_auth_method="client_secret_post"
    )
    assert post.auth_method == "client_secret_post"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (
            {"token_endpoint_auth_method": "private_key_jwt", "client_secret": SECRET},
            "not supported",
        ),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "needs client_secret"),
    ],
)
def test_bad_auth_method(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        OktaConfig("https://x.okta.com", "c", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "issuer",
    ["http://localhost:8080/oauth2/default", "http://127.0.0.7:1", "http://[::1]:9000"],
)
def test_http_is_fine_on_loopback(issuer: str) -> None:
    assert OktaConfig(issuer, "c").issuer == issuer


def test_http_elsewhere_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="allow_insecure_http=True") as info:
        OktaConfig("http://10.0.0.5:8080/oauth2/default", "c")
    assert "unencrypted" in str(info.value)


def test_http_opt_in_warns() -> None:
    with pytest.warns(UserWarning, match="unencrypted"):
        OktaConfig("http://classroom.lan/oauth2/default", "c", allow_insecure_http=True)


def test_http_opt_in_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSECURE_HTTP_ENV, "1")
    with pytest.warns(UserWarning):
        OktaConfig("http://classroom.lan", "c")


@pytest.mark.parametrize("issuer", ["dev-1.okta.com", "ftp://x", "https://x.okta.com?x=1", ""])
def test_not_a_url(issuer: str) -> None:
    with pytest.raises(ConfigError):
        OktaConfig(issuer, "c")


def test_empty_client_id() -> None:
    with pytest.raises(ConfigError, match="client_id"):
        OktaConfig("https://x.okta.com", "")


def test_scopes_string_is_split() -> None:
    assert OktaConfig("https://x.okta.com", "c", scopes="openid email").scopes == (  # type: ignore[arg-type]
        "openid",
        "email",
    )


def test_frozen() -> None:
    config = OktaConfig("https://x.okta.com", "c")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.client_id = "d"  # type: ignore[misc]


def test_repr_masks_secret() -> None:
    config = OktaConfig("https://x.okta.com", "c", SECRET)
    for text in (repr(config), str(config), f"{config}"):
        assert SECRET not in text
        assert SECRET[:6] not in text
        assert "[masked]" in text


def test_from_env_article_names() -> None:
    env = {
        "OKTA_DOMAIN": "https://dev-1.okta.com/oauth2/default/",
        "OKTA_CLIENTID": "0oa1",
        "OKTA_CLIENTSECRET": SECRET,
    }
    config = OktaConfig.from_env(env)
    assert config.issuer == "https://dev-1.okta.com/oauth2/default"
    assert (config.client_id, config.client_secret) == ("0oa1", SECRET)
    assert config.auth_method == "client_secret_basic"


def test_from_env_new_names_win_and_scopes() -> None:
    env = {
        "OKTA_ISSUER": "https://new.okta.com",
        "OKTA_DOMAIN": "https://old.okta.com",
        "OKTA_CLIENT_ID": "new",
        "OKTA_CLIENTID": "old",
        "OKTA_SCOPES": "openid  demo.read",
    }
    config = OktaConfig.from_env(env)
    assert (config.issuer, config.client_id) == ("https://new.okta.com", "new")
    assert config.scopes == ("openid", "demo.read")


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_ISSUER", "https://env.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_ID", "envid")
    assert OktaConfig.from_env().client_id == "envid"


def test_from_env_partial_names_everything_missing() -> None:
    with pytest.raises(ConfigError) as info:
        OktaConfig.from_env({"OKTA_CLIENTSECRET": SECRET})
    message = str(info.value)
    assert "OKTA_ISSUER" in message and "OKTA_CLIENT_ID" in message
    assert SECRET not in message


def test_from_env_only_issuer_missing() -> None:
    with pytest.raises(ConfigError, match="OKTA_ISSUER") as info:
        OktaConfig.from_env({"OKTA_CLIENT_ID": "c"})
    assert "OKTA_CLIENT_ID" not in str(info.value)


@pytest.mark.parametrize(
    ("issuer", "needle"),
    [
        ("https://dev-1.okta.com/oauth2/default/v1/token", "endpoint URL"),
        ("https://dev-1.okta.com/oauth2/v1", "endpoint URL"),
        ("https://dev-1.okta.com/oauth2/default/.well-known/openid-configuration", "endpoint"),
        ("https://dev-1.okta.com/oauth2", "server id"),
    ],
)
def test_pasted_endpoints_are_refused(issuer: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        OktaConfig(issuer, "c")
