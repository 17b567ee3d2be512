"""The tutorial helpers: set-up cell decisions, masking, claims, the timeline plot."""

from __future__ import annotations

import os

import pytest

from okta_nb_auth import ConfigError, OktaAuthError
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.tutorial import claims, masked, plot_timeline, setup


def test_no_okta_variables_starts_the_dev_server_on_loopback() -> None:
    tut = setup(environ={})
    try:
        assert tut.is_dev
        assert tut.issuer.startswith("http://127.0.0.1:")
        assert tut.config("web").client_secret == tut.dev.app("web").client_secret  # type: ignore[union-attr]
        tokens = tut.login("native")
        assert tokens.refresh_token is not None
        assert "dev server" in repr(tut)
    finally:
        tut.close()


def test_partial_variables_give_one_clear_error() -> None:
    with pytest.raises(ConfigError) as info:
        setup(environ={"OKTA_DOMAIN": "https://dev-123456.okta.com/oauth2/default"})
    message = str(info.value)
    assert "OKTA_CLIENT_ID (or OKTA_CLIENTID)" in message
    assert "OKTA_DOMAIN" in message
    assert "Unset them all" in message
    # In a notebook, IPython shows this one line instead of a stack trace.
    assert info.value._render_traceback_() == [f"SetupError: {message}"]


def test_mistyped_issuer_is_reported_in_the_first_cell(dev: DevServer) -> None:
    env = {"OKTA_DOMAIN": dev.base_url + "/oauth2/defualt", "OKTA_CLIENTID": "0oa123"}
    with pytest.raises(ConfigError, match=r"answered HTTP 404\. The issuer is probably mistyped"):
        setup(environ=env)


def test_real_okta_variables_give_a_config_without_a_dev_server(dev: DevServer) -> None:
    env = {"OKTA_DOMAIN": dev.issuer, "OKTA_CLIENTID": dev.app("native").client_id}
    tut = setup(environ=env)
    assert not tut.is_dev
    assert tut.config().issuer == dev.issuer
    assert tut.config(scopes=("openid",)).scopes == ("openid",)
    assert tut.needs_dev("injects faults") is False


def test_unreachable_issuer() -> None:
    env = {"OKTA_ISSUER": "http://127.0.0.1:9/oauth2/default", "OKTA_CLIENT_ID": "0oa123"}
    with pytest.raises(ConfigError, match="Cannot reach"):
        setup(environ=env)


def test_presenter_mode_masks_emails_and_user_codes() -> None:
    text = "Signed in as ada@example.com; code BCDFGHJK"
    assert masked(text, presenter=False) == text
    hidden = masked(text, presenter=True)
    assert "ada@example.com" not in hidden and "BCDFGHJK" not in hidden
    assert "a…@example.com" in hidden


def test_claims_decode_base64url_without_padding(dev: DevServer) -> None:
    tokens = dev.login_as("ada@example.com")
    payload = claims(tokens.access_token)
    assert payload["sub"] == "ada@example.com"
    assert payload["scp"] == ["openid", "email", "profile", "offline_access"]
    with pytest.raises(ValueError, match="not a JWT"):
        claims("opaque-refresh-token")


def test_errors_render_without_a_traceback() -> None:
    error = OktaAuthError("log in again", error="invalid_grant")
    assert error._render_traceback_() == ["OktaAuthError: log in again"]


def test_timeline_plot_draws_one_bar_per_token(fresh_dev: DevServer) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import httpx

    fresh_dev.configure_app("native", rotation="ROTATE")
    tokens = fresh_dev.login_as()
    token_url = fresh_dev.issuer + "/v1/token"
    client_id = fresh_dev.app("native").client_id
    refresh = tokens.refresh_token
    for _ in range(2):
        body = httpx.post(
            token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id},
        ).json()
        refresh = body["refresh_token"]
    httpx.post(token_url, data={"grant_type": "refresh_token", "client_id": client_id})
    ax = plot_timeline(fresh_dev.events)
    assert len(ax.patches) == 2  # two successful refreshes, each a lifetime bar
    markers = [line.get_marker() for line in ax.lines]
    assert markers.count("D") == 2 and markers.count("x") == 1


def test_presenter_mode_masks_everything_printed(capsys: pytest.CaptureFixture[str]) -> None:
    from okta_nb_auth.tutorial import presenter_mode

    presenter_mode(True)
    presenter_mode(True)  # idempotent: no double wrapping
    try:
        print("user ada@example.com, code BCDFGHJK")
    finally:
        presenter_mode(False)
    print("after: grace@example.com")
    out = capsys.readouterr().out
    assert "ada@example.com" not in out and "BCDFGHJK" not in out
    assert "a…@example.com" in out
    assert "after: grace@example.com" in out


def test_presenter_setup_masks_the_widget_and_the_dev_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from okta_nb_auth import login
    from okta_nb_auth.tutorial import presenter_mode

    tut = setup(environ={}, presenter=True)
    try:
        assert tut.dev is not None and tut.dev.presenter
        tut.dev.configure_app("native", device_interval=0)
        widget = login(tut.config("native"), flow="device", store=None, display=False, tick=None)
        code = widget._control.current().code
        assert code is not None and code.user_code not in repr(widget)
        assert "••••••••" in repr(widget)
        widget.close()
        assert widget._control.session is not None
        widget._control.session.close()
    finally:
        presenter_mode(False)
        tut.close()
    assert "OKTA_NB_AUTH_PRESENTER" not in os.environ
    capsys.readouterr()


def test_dev_only_notebooks_start_their_own_server_and_say_so(
    dev: DevServer, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"OKTA_DOMAIN": dev.issuer, "OKTA_CLIENTID": dev.app("native").client_id}
    tut = setup(environ=env, dev_only="fast-forwards time")
    try:
        assert tut.is_dev and tut.issuer != dev.issuer
        assert "fast-forwards time, which only the dev server can do" in capsys.readouterr().out
    finally:
        tut.close()
