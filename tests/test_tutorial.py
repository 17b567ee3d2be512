"""The tutorial helpers: set-up cell decisions, masking, claims, the timeline plot."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from okta_nb_auth import ConfigError, OktaAuthError, TokenSet
from okta_nb_auth.devserver import DevServer, Event
from okta_nb_auth.devserver._settings import DEVICE_GRANT
from okta_nb_auth.tutorial import claims, masked, plot_timeline, setup
from okta_nb_auth.tutorial._plot import LEGEND


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


@pytest.fixture
def agg() -> Iterator[None]:
    """matplotlib on the Agg backend (no display); every figure closed afterwards."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _legend_of(ax: Any) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, "the plot has a legend, not a title that explains the markers"
    return [text.get_text() for text in legend.get_texts()]


def _bars(ax: Any) -> list[tuple[float, float, float]]:
    """(left, width, row) of every lifetime bar, in drawing order."""
    return [(p.get_x(), p.get_width(), p.get_y() + p.get_height() / 2) for p in ax.patches]


def _iat(jwt_text: str) -> int:
    """The iat claim of a token the dev server just issued (read, not verified)."""
    return int(jwt.decode(jwt_text, options={"verify_signature": False})["iat"])


def _assert_nothing_clipped(ax: Any) -> None:
    """Every marker and bar lies inside the axes, with room to spare (no half diamonds)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for line in ax.lines:
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
            assert x0 < x < x1 and y0 < y < y1
            assert min(x - x0, x1 - x) >= 0.02 * (x1 - x0)  # the marker shows whole
            assert min(y - y0, y1 - y) >= 0.5
    for left, width, row in _bars(ax):
        assert x0 < left and left + width < x1 and y0 < row - 0.3 and row + 0.3 < y1


@pytest.mark.usefixtures("agg")
def test_timeline_plot_draws_the_login_and_one_bar_per_refresh(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", access_token_ttl=300)
    tokens = fresh_dev.login_as()  # like tut.login(): no token-endpoint call, no event
    assert not fresh_dev.events
    token_url = fresh_dev.issuer + "/v1/token"
    client_id = fresh_dev.app("native").client_id
    refresh = tokens.refresh_token
    issued = []  # each refreshed access token's iat (real time passes too, not only the offset)
    for _ in range(2):
        fresh_dev.advance_clock(240)
        body = httpx.post(
            token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id},
        ).json()
        refresh = body["refresh_token"]
        issued.append(_iat(body["access_token"]))
    httpx.post(token_url, data={"grant_type": "refresh_token", "client_id": client_id})

    ax = plot_timeline(fresh_dev.events)  # the login is not in the log: two refreshes only
    assert len(ax.patches) == 2
    markers = [line.get_marker() for line in ax.lines]
    assert markers.count("D") == 2 and markers.count("x") == 1
    assert _legend_of(ax) == [LEGEND["token"], LEGEND["rotated"], LEGEND["error"]]
    assert ax.get_xlabel() == "seconds since the first token call"
    assert ax.get_title() == "access tokens over time"
    _assert_nothing_clipped(ax)

    ax = plot_timeline(fresh_dev.events, login=tokens)
    bars = _bars(ax)
    assert len(bars) == 3  # the login's token, then one per refresh
    assert bars[0] == pytest.approx((0.0, 300.0, 1.0), abs=1.0)  # from its iat to its exp
    assert [row for _, _, row in bars] == pytest.approx([1.0, 2.0, 3.0])
    login_iat = _iat(tokens.access_token)
    assert issued[0] - login_iat >= 240  # refreshed a minute before expiry (or a moment later)
    assert bars[1][0] == pytest.approx(issued[0] - login_iat, abs=1.0)
    assert bars[2][0] == pytest.approx(issued[1] - login_iat, abs=1.0)
    login_colour = ax.patches[0].get_facecolor()
    assert all(patch.get_facecolor() != login_colour for patch in ax.patches[1:])
    assert _legend_of(ax) == [
        LEGEND["login"].format(how="not in the event log"),
        LEGEND["token"],
        LEGEND["rotated"],
        LEGEND["error"],
    ]
    assert ax.get_xlabel() == "seconds since the login"
    _assert_nothing_clipped(ax)


@pytest.mark.usefixtures("agg")
def test_timeline_plot_shows_a_device_login_from_the_event_log(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=0, access_token_ttl=300)
    client_id = fresh_dev.app("native").client_id
    base = fresh_dev.issuer + "/v1/"
    code = httpx.post(
        base + "device/authorize", data={"client_id": client_id, "scope": "openid offline_access"}
    ).json()
    poll = {"grant_type": DEVICE_GRANT, "device_code": code["device_code"], "client_id": client_id}
    assert httpx.post(base + "token", data=poll).json()["error"] == "authorization_pending"
    fresh_dev.approve_device(code["user_code"])
    signed_in = httpx.post(base + "token", data=poll).json()
    fresh_dev.advance_clock(240)
    refresh = signed_in["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id}
    answer = httpx.post(base + "token", data=form)
    assert answer.status_code == 200  # STATIC: no rotation
    later = _iat(answer.json()["access_token"]) - _iat(signed_in["access_token"])
    assert later >= 240  # the offset, plus however long this machine took in between

    ax = plot_timeline(fresh_dev.events)
    login, refreshed = _bars(ax)
    assert login == pytest.approx((0.0, 300.0, 1.0), abs=1.0)  # the device login, then
    assert refreshed == pytest.approx((later, 300.0, 2.0), abs=1.0)  # the refresh
    assert [line.get_marker() for line in ax.lines] == ["o"]  # the pending poll is no error
    assert _legend_of(ax) == [
        LEGEND["login"].format(how="device-code grant"),
        LEGEND["token"],
        LEGEND["refresh"],
    ]
    _assert_nothing_clipped(ax)


@pytest.mark.usefixtures("agg")
def test_timeline_plot_of_an_opaque_login_token_says_its_start_is_unknown() -> None:
    refreshed = Event(
        100.0, "token", "refresh_token", "cid", "native", 200, None, None, None, 400.0
    )
    login = TokenSet(access_token="opaque-not-a-jwt", expires_at=160.0)
    ax = plot_timeline([refreshed], login=login)
    first, second = _bars(ax)  # the login's bar ends at its expiry, starts at the log's start
    assert first == pytest.approx((0.0, 60.0, 1.0)) and second == pytest.approx((0.0, 300.0, 2.0))
    how = "not in the event log, issue time unknown"
    assert _legend_of(ax)[0] == LEGEND["login"].format(how=how)
    _assert_nothing_clipped(ax)


@pytest.mark.usefixtures("agg")
def test_timeline_plot_without_token_calls() -> None:
    ax = plot_timeline([])
    assert ax.get_title() == "no token-endpoint calls yet" and not ax.patches


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


def test_presenter_show_claims_masks_the_claims_that_name_a_person(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from okta_nb_auth.tutorial import presenter_mode

    keys = ["name", "given_name", "family_name", "preferred_username", "email", "sub"]
    tut = setup(environ={})
    try:
        id_token = tut.login("native").id_token
        assert id_token is not None
        tut.show_claims(id_token, keys)
        plain = capsys.readouterr().out
        tut.presenter = True
        tut.show_claims(id_token, keys)
        shown = capsys.readouterr().out
    finally:
        presenter_mode(False)
        tut.close()
    assert 'name: "Ada Lovelace"' in plain and 'email: "ada@example.com"' in plain
    assert "Ada" not in shown and "Lovelace" not in shown and "ada@" not in shown
    assert '      name: "A… L…"' in shown and '     email: "a…@example.com"' in shown
    sub = claims(id_token)["sub"]
    assert f'       sub: "{sub}"' in shown  # an ID, not a person's name: shown as it is


def test_a_presenters_other_kernels_mask_too() -> None:
    from okta_nb_auth.tutorial import presenter_mode

    code = "import os\nprint(os.environ.get('OKTA_NB_AUTH_PRESENTER'))"
    tut = setup(environ={}, presenter=True)
    try:
        assert tut.kernel("presenting").run(code) == "1\n"
        tut.presenter = False
        assert tut.kernel("not presenting").run(code) == "None\n"
    finally:
        presenter_mode(False)
        tut.close()
