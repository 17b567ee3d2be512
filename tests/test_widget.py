"""The login widget, headless, against the dev server: buttons, traits, and no secret in state."""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from flow_helpers import in_thread, loopback_config, result_of, sign_in

from okta_nb_auth import AuthSession, LoginRequired, LoginTimeout, LoginWidget, login
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins._text import BUTTON_CLASS, LINK_STYLE, LoginView, html_parts
from okta_nb_auth.widgets import WaitTimeout

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"


WAIT = 30.0  # the most a login may take on a loaded machine (wait() returns once it is done)


def login_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "okta-login" and t.is_alive()]


def lingering_login_threads() -> list[threading.Thread]:
    """Login threads still alive after each was given WAIT seconds to end (a cancelled or
    finished login's thread ends soon, but not always within the widget's own 2 s join)."""
    for thread in login_threads():
        thread.join(WAIT)
    return login_threads()


@pytest.fixture
def device_dev(fresh_dev: DevServer) -> Iterator[DevServer]:
    fresh_dev.configure_app("native", device_interval=0)
    yield fresh_dev


def make(dev: DevServer, **options: object) -> LoginWidget:
    options.setdefault("flow", "device")
    options.setdefault("tick", None)
    options.setdefault("sleep", lambda s: threading.Event().wait(0.02))
    return LoginWidget(dev.config("native"), **options)  # type: ignore[arg-type]


def finish(*widgets: LoginWidget) -> None:
    """Close the views and the sessions the widgets made (the widget leaves them open)."""
    for widget in widgets:
        widget.close()
        if widget._control.session is not None:
            widget._control.session.close()


def secrets_of(widget: LoginWidget) -> list[str]:
    found: list[str] = []
    session = widget._control.session
    if session is not None and session.tokens is not None:
        tokens = session.tokens
        found += [t for t in (tokens.access_token, tokens.refresh_token, tokens.id_token) if t]
    attempt = widget._control.attempt
    if attempt is not None and attempt.code is not None:
        found.append(attempt.code.device_code)
    if attempt is not None and attempt.pkce is not None:
        found.append(attempt.pkce._verifier)
    return found


def assert_no_secret_in_state(widget: LoginWidget, extra: tuple[str, ...] = ()) -> None:
    secrets = [*secrets_of(widget), *extra]
    assert secrets, "nothing to look for: the test would prove nothing"
    state = json.dumps([child.get_state() for child in widget.children], default=str)
    text = repr(widget)
    for secret in secrets:
        assert secret[:16] not in state
        assert secret[:16] not in text
    assert "eyJ" not in state and "eyJ" not in text  # no JWT at all


def text(widget: LoginWidget, part: str) -> str:
    return str(widget._html[part].value)


def test_device_login_shows_link_code_and_signs_in(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        code = widget._control.current().code
        assert code is not None
        assert 'target="_blank"' in text(widget, "link")
        assert f"user_code={code.user_code}" in text(widget, "link")
        assert code.user_code in text(widget, "code") and "Copy" in text(widget, "code")
        assert text(widget, "timer").startswith("The code expires in ")
        assert "device code flow: you asked for the device flow" in text(widget, "header")
        assert widget.login_button.layout.display == "none"
        assert_no_secret_in_state(widget)
        device_dev.approve_device(code.user_code, ADA)
        session = widget.wait(WAIT)
        assert session is widget.session
        assert text(widget, "status") == "Signed in as Ada Lovelace &lt;ada@example.com&gt;"
        assert re.search(r"Access token expires in 59:[0-5]\d", text(widget, "timer"))
        assert "0 refreshes" in text(widget, "timer")
        assert widget.logout_button.layout.display == ""
        assert_no_secret_in_state(widget)
        assert "Signed in as Ada Lovelace <ada@example.com>" in repr(widget)
        session.refresh()
        widget.refresh_view()
        assert "1 refresh" in text(widget, "timer")
        assert_no_secret_in_state(widget)
    finally:
        finish(widget)
    assert not lingering_login_threads()


def test_text_repr_gives_instructions_and_no_secret(device_dev: DevServer) -> None:
    widget = make(device_dev, start=False)
    assert "Not signed in. Click Log in" in repr(widget)
    widget._control.prepare()
    shown = widget._repr_mimebundle_()
    assert shown["text/plain"] == repr(widget)
    assert shown["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.box.model_id
    lines = repr(widget).splitlines()
    assert lines[0] == "Okta login, device flow: you asked for the device flow."
    assert lines[1].startswith("  1. Open http://127.0.0.1:")
    assert "then sign in" in lines[2] and "valid for 10 minutes" in lines[3]
    assert_no_secret_in_state(widget)
    finish(widget)


def test_second_click_while_running_does_nothing(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        first = widget._control.current()
        widget.login_button.click()
        widget.start()
        assert widget._control.current() is first
        assert len(login_threads()) == 1
    finally:
        finish(widget)
    assert not lingering_login_threads()


def test_cancel_then_log_in_again(device_dev: DevServer) -> None:
    device_dev.configure_app("native", device_interval=30)
    widget = make(device_dev, sleep=None)
    try:
        widget.cancel_button.click()
        assert widget.state == "cancelled" and not lingering_login_threads()
        assert "cancelled" in text(widget, "status")
        assert widget.login_button.layout.display == ""
        device_dev.configure_app("native", device_interval=0)
        device_dev.auto_approve = ADA
        widget.login_button.click()
        assert widget.wait(WAIT).tokens is not None
    finally:
        finish(widget)


def test_denied_then_retry(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        code = widget._control.current().code
        assert code is not None
        device_dev.deny_device(code.user_code)
        with pytest.raises(LoginRequired, match="denied"):
            widget.wait(WAIT)
        assert widget.state == "failed" and "denied" in text(widget, "status")
        device_dev.auto_approve = ADA
        widget.login_button.click()
        assert widget.wait(WAIT) is widget.session
    finally:
        finish(widget)


def test_wrong_password_on_the_page_leaves_it_waiting(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        code = widget._control.current().code
        assert code is not None
        form = {"user_code": code.user_code, "username": ADA, "action": "allow"}
        page = httpx.post(f"{device_dev.base_url}/activate", data={**form, "password": "nope"})
        assert page.status_code == 401
        with pytest.raises(TimeoutError):  # what wait() raised before: still caught
            widget.wait(0.2)
        assert widget.state == "waiting"
        page = httpx.post(
            f"{device_dev.base_url}/activate", data={**form, "password": ADA_PASSWORD}
        )
        assert page.status_code == 200
        assert widget.wait(WAIT).tokens is not None
    finally:
        finish(widget)


def test_a_wait_that_times_out_says_what_to_do_in_one_line(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        with pytest.raises(WaitTimeout) as info:
            widget.wait(0.2)
        error = info.value
        assert isinstance(error, LoginTimeout) and isinstance(error, TimeoutError)
        assert isinstance(error, LoginRequired) and error.timeout == 0.2
        assert str(error) == (
            "Not signed in after 0.2 s, and the login goes on: finish the sign-in the widget "
            "shows, then run this cell again (the widget's Cancel button stops it)."
        )
        assert error._render_traceback_() == [f"WaitTimeout: {error}"]  # IPython: one line
        assert widget.state == "waiting"  # the login goes on, and can still finish
        code = widget._control.current().code
        assert code is not None
        device_dev.approve_device(code.user_code, ADA)
        assert widget.wait(WAIT) is widget.session
    finally:
        finish(widget)


@pytest.mark.anyio
async def test_an_async_wait_that_times_out_raises_the_same(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        with pytest.raises(WaitTimeout, match=r"^Not signed in after 0\.2 s, and the login"):
            await widget.wait_async(0.2)
        assert widget.state == "waiting"
    finally:
        finish(widget)


def test_log_out_revokes_and_clears(device_dev: DevServer) -> None:
    device_dev.auto_approve = ADA
    widget = make(device_dev)
    try:
        session = widget.wait(WAIT)
        access = session.tokens.access_token if session.tokens else ""
        widget.logout_button.click()
        assert widget.state == "logged_out" and widget.session is None
        assert session.tokens is None
        refused = httpx.get(
            f"{device_dev.api_url}/whoami", headers={"Authorization": f"Bearer {access}"}
        )
        assert refused.status_code == 401
        assert "revoked" in text(widget, "status")
        with pytest.raises(LoginRequired, match="Not signed in"):
            widget.wait(0.1)
    finally:
        finish(widget)


def test_login_required_prompts_and_a_new_login_resumes_the_session(
    device_dev: DevServer,
) -> None:
    device_dev.auto_approve = ADA
    widget = make(device_dev)
    try:
        session = widget.wait(WAIT)
        device_dev.revoke_user(ADA)
        with pytest.raises(LoginRequired):
            session.refresh()
        widget.refresh_view()
        assert widget.state == "relogin"
        assert "Click Log in to sign in again" in text(widget, "status")
        widget.login_button.click()
        assert widget.wait(WAIT) is session
        assert session.get(f"{device_dev.api_url}/whoami").status_code == 200
        assert widget.state == "signed_in"
    finally:
        finish(widget)


def test_a_newer_login_stops_the_older_one(device_dev: DevServer) -> None:
    first = make(device_dev)
    second = make(device_dev)
    try:
        assert first.state == "cancelled"
        cancelled = first._control.attempt
        assert cancelled is not None and cancelled.thread is not None
        cancelled.thread.join(WAIT)
        assert second.state == "waiting" and len(login_threads()) == 1
    finally:
        finish(first, second)


def test_interrupt_during_wait_stops_the_thread(
    device_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = make(device_dev)

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(widget._control, "outcome", interrupted)
    with pytest.raises(KeyboardInterrupt):
        widget.wait()
    assert widget.state == "cancelled" and not lingering_login_threads()
    finish(widget)


@pytest.mark.anyio
async def test_wait_async(device_dev: DevServer) -> None:
    device_dev.auto_approve = ADA
    widget = make(device_dev)
    try:
        session = await widget
        assert isinstance(session, AuthSession) and session is widget.session
    finally:
        finish(widget)


def test_timer_thread_stops_on_close(device_dev: DevServer) -> None:
    widget = make(device_dev, tick=0.05)
    ticker = widget._ticker
    assert ticker is not None and ticker.is_alive()
    finish(widget)
    assert not ticker.is_alive() and not lingering_login_threads()


def test_pkce_widget_with_the_loopback(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    widget = LoginWidget(config, flow="pkce", tick=None)
    try:
        assert widget.paste_row.layout.display == ""
        link = text(widget, "link").split('href="')[1].split('"')[0].replace("&amp;", "&")
        browser = in_thread(lambda: sign_in(link, ADA, ADA_PASSWORD))
        assert widget.wait(WAIT) is widget.session
        assert widget.state == "signed_in"
        assert "signed in" in result_of(*browser).text.lower()  # type: ignore[attr-defined]
        assert_no_secret_in_state(widget)
    finally:
        finish(widget)


def test_pkce_widget_paste_fallback(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    widget = LoginWidget(config, flow="pkce", tick=None)
    try:
        url = widget._control.current().pkce.url  # type: ignore[union-attr]
        final = sign_in(url, ADA, ADA_PASSWORD, follow=False).headers["Location"]
        widget.paste_box.value = final.replace("state=", "state=stale")
        widget.paste_button.click()
        assert "older login tab" in text(widget, "status") and widget.state == "waiting"
        assert widget.paste_box.value == ""
        widget.paste_box.value = final
        widget.paste_button.click()
        assert widget.paste_box.value == ""  # the code does not stay in a synced trait
        assert widget.wait(WAIT) is widget.session
        assert_no_secret_in_state(widget, extra=(final.split("code=")[1].split("&")[0],))
    finally:
        finish(widget)


def test_login_displays_at_once_and_returns(
    device_dev: DevServer, capsys: pytest.CaptureFixture[str]
) -> None:
    device_dev.auto_approve = ADA
    widget = login(device_dev.config("native"), flow="device", tick=None)
    try:
        shown = capsys.readouterr().out
        assert "1. Open http://127.0.0.1:" in shown
        assert widget.wait(WAIT).tokens is not None
    finally:
        finish(widget)


def test_without_ipywidgets_the_error_names_the_extra(
    dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match=r"pip install 'okta-nb-auth\[widgets\]'"):
        LoginWidget(dev.config("native"), flow="device")


def test_a_closed_tab_times_out_and_the_widget_stays_usable(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    widget = LoginWidget(config, flow="pkce", tick=None, timeout=0.3)
    try:
        with pytest.raises(LoginTimeout):
            widget.wait(WAIT)
        assert widget.state == "failed" and "closed tab" in text(widget, "status")
        assert widget.login_button.layout.display == "" and not lingering_login_threads()
        widget.login_button.click()
        link = widget._control.current().pkce.url  # type: ignore[union-attr]
        browser = in_thread(lambda: sign_in(link, ADA, ADA_PASSWORD))
        assert widget.wait(WAIT) is widget.session
        assert "signed in" in result_of(*browser).text.lower()  # type: ignore[attr-defined]
    finally:
        finish(widget)


def test_status_text_is_escaped() -> None:
    view = LoginView(flow="device", reason="<b>why</b>", state="failed", message="<img src=x>")
    parts = html_parts(view)
    assert "<img" not in parts["status"] and "&lt;img src=x&gt;" in parts["status"]
    assert "&lt;b&gt;why&lt;/b&gt;" in parts["header"]


def test_a_bare_login_call_is_shown_once(
    device_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[dict[str, object]] = []

    class Shell:
        execution_count = 7

    monkeypatch.setattr("IPython.get_ipython", lambda: Shell())
    monkeypatch.setattr(
        "okta_nb_auth.widgets._display",
        lambda obj, **kw: shown.append(obj if kw else obj._repr_mimebundle_()),  # type: ignore[attr-defined]
    )
    widget = make(device_dev, start=False)
    try:
        widget._ipython_display_()  # what login() does
        widget._ipython_display_()  # the displayhook for a bare `login()` in the same cell
        assert len(shown) == 1
        Shell.execution_count = 8  # `widget` alone in a later cell shows it again
        widget._ipython_display_()
        assert len(shown) == 2
    finally:
        finish(widget)


def test_only_web_links_become_links() -> None:
    view = LoginView(flow="device", reason="r", state="waiting", link="javascript:alert(1)")
    assert html_parts(view)["link"] == ""
    safe = LoginView(flow="device", reason="r", state="waiting", link="https://x/activate")
    assert 'href="https://x/activate"' in html_parts(safe)["link"]


class _Tags(HTMLParser):
    """Every start tag of a piece of HTML with its attributes (as a browser would read them)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _only(html: str, tag: str) -> dict[str, str | None]:
    found = [attrs for name, attrs in _Tags(html).tags if name == tag]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("presenter", [False, True])
def test_the_link_looks_like_a_link_and_copy_like_the_other_buttons(presenter: bool) -> None:
    # JupyterLab's CSS strips a link's colour and underline inside widget HTML, and a bare
    # <button> looks like no ipywidgets Button: test_e2e_jupyterlab checks how they render.
    link = 'https://x/activate?user_code=BCDFGHJK&x="><script>'
    view = LoginView(
        flow="device",
        reason="r",
        state="waiting",
        link=link,
        user_code="BCDFGHJK",
        presenter=presenter,
    )
    parts = html_parts(view)
    anchor = _only(parts["link"], "a")
    assert anchor["class"] == "okta-login-link" and anchor["style"] == LINK_STYLE
    assert "text-decoration:underline" in LINK_STYLE and "--jp-content-link-color" in LINK_STYLE
    assert anchor["href"] == link  # escaped in the markup, intact for the browser
    assert "<script>" not in parts["link"] and "&quot;&gt;&lt;script&gt;" in parts["link"]
    copy = _only(parts["code"], "button")
    assert copy["class"] == BUTTON_CLASS == "jupyter-widgets jupyter-button widget-button"
    assert copy["type"] == "button" and "BCDFGHJK" in str(copy["onclick"])
    summaries = [attrs for name, attrs in _Tags(parts["code"]).tags if name == "summary"]
    assert [s["style"] for s in summaries] == ([LINK_STYLE] if presenter else [])


def test_a_busy_redirect_port_leaves_the_paste_box(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    assert config.redirect_uri is not None
    port = int(config.redirect_uri.split(":")[2].split("/")[0])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        widget = LoginWidget(config, flow="pkce", tick=None)
        try:
            assert widget.state == "waiting" and "Cannot listen" in text(widget, "status")
            assert widget.paste_row.layout.display == ""
            url = widget._control.current().pkce.url  # type: ignore[union-attr]
            widget.paste_box.value = sign_in(url, ADA, ADA_PASSWORD, follow=False).headers[
                "Location"
            ]
            widget.paste_button.click()
            assert widget.wait(WAIT) is widget.session
        finally:
            finish(widget)


def test_log_in_is_the_primary_action_only_when_not_signed_in(fresh_dev: DevServer) -> None:
    fresh_dev.auto_approve = "ada@example.com"
    fresh_dev.configure_app("native", device_interval=0)
    widget = make(fresh_dev, start=False)
    assert widget.login_button.button_style == "primary"
    widget.start()
    widget.wait(timeout=30)
    widget.refresh_view()
    assert widget.login_button.button_style == ""
    widget.logout()
    widget.refresh_view()
    assert widget.login_button.button_style == "primary"
    finish(widget)
