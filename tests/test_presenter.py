"""Presenter mode on screen: the login widget and the dev server's pages mask e-mail addresses
and device user codes, and a login still works (issue 9, part B)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from flow_helpers import in_thread, loopback_config, result_of, sign_in
from nbclient import NotebookClient
from notebook_runs import KERNEL_START

from okta_nb_auth import LoginWidget, login
from okta_nb_auth._presenter import (
    CODE_MASK,
    PRESENTER_ENV,
    mask_claim,
    mask_email,
    mask_user,
    masked,
    presenter_on,
)
from okta_nb_auth.devserver import DevServer, DevServerError
from okta_nb_auth.devserver import _cli as devserver_cli
from okta_nb_auth.devserver._settings import SettingsError
from okta_nb_auth.logins._text import STORED_USER, LoginView, html_parts, plain_text

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"
SHOWN_ADA = "A… L… <a…@example.com>"
CODE_FIELD = re.compile(r'<input type=(\w+) id=user_code name=user_code value="([^"]*)"')
TXN = re.compile(r'name=txn value="([^"]+)"')


@pytest.fixture(autouse=True)
def _no_presenter_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRESENTER_ENV, raising=False)


@pytest.fixture
def presenting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRESENTER_ENV, "1")


@pytest.fixture
def device_dev(fresh_dev: DevServer) -> Iterator[DevServer]:
    fresh_dev.configure_app("native", device_interval=0)
    yield fresh_dev


@pytest.fixture
def presenter_dev() -> Iterator[DevServer]:
    with DevServer(port=0, presenter=True) as server:
        server.configure_app("native", device_interval=0)
        yield server


def make(dev: DevServer, **options: Any) -> LoginWidget:
    options.setdefault("flow", "device")
    options.setdefault("tick", None)
    options.setdefault("store", None)
    options.setdefault("sleep", lambda s: threading.Event().wait(0.02))
    return LoginWidget(dev.config("native"), **options)


def finish(widget: LoginWidget) -> None:
    widget.close()
    if widget._control.session is not None:
        widget._control.session.close()


def part(widget: LoginWidget, name: str) -> str:
    return str(widget._html[name].value)


def link_of(widget: LoginWidget) -> str:
    return part(widget, "link").split('href="')[1].split('"')[0].replace("&amp;", "&")


def user_code(widget: LoginWidget) -> str:
    code = widget._control.current().code
    assert code is not None
    return code.user_code


def synced_state(widget: LoginWidget) -> str:
    return json.dumps([child.get_state() for child in widget.children], default=str)


def visible(html: str) -> str:
    """What a closed ``<details>`` and the markup leave on screen (not attributes)."""
    html = re.sub(r"<details.*?</details>", "", html)
    return re.sub(r"<[^>]+>", "", html)


# -- the masking itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "shown"),
    [
        ("Ada Lovelace <ada@example.com>", SHOWN_ADA),
        ("ada@example.com", "a…@example.com"),
        ("Ada Lovelace", "A… L…"),
        ("00uhSoeaUDgPKKKRcNNm", "0…"),
    ],
)
def test_mask_user(user: str, shown: str) -> None:
    assert mask_user(user) == shown


def test_masked_hides_names_written_with_their_address() -> None:
    text = "Signed in as Ada Lovelace <ada@example.com>; StoreEntry(user='Grace Hopper <g@x.org>')"
    shown = masked(text, presenter=True)
    assert shown == (f"Signed in as {SHOWN_ADA}; StoreEntry(user='G… H… <g…@x.org>')")
    assert masked(shown, presenter=True) == shown  # masking twice changes nothing
    assert masked("José Álvarez-Núñez <jose@example.es>", presenter=True) == "J… Á… <j…@example.es>"
    assert masked(text, presenter=False) == text


def test_mask_claim_hides_the_claims_that_name_a_person() -> None:
    assert [mask_claim(key, "Ada Lovelace") for key in ("name", "given_name")] == ["A… L…"] * 2
    assert mask_claim("family_name", "Lovelace") == "L…"
    assert mask_claim("preferred_username", ADA) == "a…@example.com"
    assert mask_claim("email", ADA) == "a…@example.com"
    assert mask_claim("sub", "00uXGC8rcr3rnq8aaUj7") == "00uXGC8rcr3rnq8aaUj7"
    assert mask_claim("exp", 1795965493) == 1795965493


def test_masked_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "ada@example.com entered KRHQZHQG"
    assert masked(text) == text and not presenter_on()
    monkeypatch.setenv(PRESENTER_ENV, "1")
    assert presenter_on() and masked(text) == f"a…@example.com entered {CODE_MASK}"
    assert masked(text, presenter=False) == text and not presenter_on(False)
    assert presenter_on(None, {PRESENTER_ENV: "1"}) and not presenter_on(None, {})
    assert mask_email("grace@example.com") == "g…@example.com"


def test_views_keep_other_link_parameters_and_placeholders() -> None:
    view = LoginView(
        flow="device",
        reason="r",
        state="waiting",
        link="https://x.okta.com/activate?lang=en&user_code=KRHQZHQG",
        user_code="KRHQZHQG",
        code_valid_for=600,
        presenter=True,
    )
    assert "Open https://x.okta.com/activate?lang=en\n" in plain_text(view)
    assert "KRHQZHQG" in html_parts(view)["link"]  # the link still fills the code in
    stored = LoginView(flow="device", reason="r", state="signed_in", user=STORED_USER)
    assert f"Signed in as {STORED_USER}" in plain_text(replace(stored, presenter=True))


# -- the widget --------------------------------------------------------------------------------


def test_the_widget_shows_everything_without_presenter_mode(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        code = user_code(widget)
        assert not widget.presenter
        assert code in visible(part(widget, "code")) and code in repr(widget)
        device_dev.approve_device(code, ADA)
        widget.wait(5)
        assert "Signed in as Ada Lovelace <ada@example.com>" in repr(widget)
        assert ADA in synced_state(widget)
    finally:
        finish(widget)


@pytest.mark.usefixtures("presenting")
def test_presenter_env_masks_the_widget_html_and_text(device_dev: DevServer) -> None:
    widget = make(device_dev)
    try:
        code = user_code(widget)
        assert widget.presenter
        shown_code = part(widget, "code")
        assert CODE_MASK in shown_code and code not in visible(shown_code)
        assert re.search(f"<summary.*<code[^>]*>{code}</code></details>", shown_code)  # "show"
        assert f"user_code={code}" in link_of(widget)  # the link still signs in
        assert "fills in the code" in part(widget, "link")
        text = repr(widget)
        assert code not in text and CODE_MASK in text
        assert f"Open {device_dev.base_url}/activate\n" in text
        assert "widget.presenter = False" in text
        device_dev.approve_device(code, ADA)
        assert widget.wait(5) is widget.session
        assert part(widget, "status") == "Signed in as A… L… &lt;a…@example.com&gt;"
        assert f"Signed in as {SHOWN_ADA}" in repr(widget)
        state = synced_state(widget) + repr(widget)
        assert ADA not in state and "Lovelace" not in state
        assert widget.user == SHOWN_ADA  # what a cell prints reads as the widget does
        widget.presenter = False
        assert widget.user == "Ada Lovelace <ada@example.com>"
    finally:
        finish(widget)


@pytest.mark.usefixtures("presenting")
def test_an_explicit_presenter_argument_wins_and_can_be_switched(device_dev: DevServer) -> None:
    widget = make(device_dev, presenter=False)
    try:
        code = user_code(widget)
        assert code in repr(widget) and code in visible(part(widget, "code"))
        widget.presenter = True
        assert code not in repr(widget) and code not in visible(part(widget, "code"))
    finally:
        finish(widget)


def test_login_takes_presenter(device_dev: DevServer, capsys: pytest.CaptureFixture[str]) -> None:
    device_dev.auto_approve = ADA
    widget = login(
        device_dev.config("native"), flow="device", tick=None, store=None, presenter=True
    )
    try:
        shown = capsys.readouterr().out
        assert CODE_MASK in shown and "user_code=" not in shown
        widget.wait(5)
        assert f"Signed in as {SHOWN_ADA}" in repr(widget)
    finally:
        finish(widget)


def test_presenter_environ_argument_is_the_default(device_dev: DevServer) -> None:
    widget = make(device_dev, environ={PRESENTER_ENV: "1"})
    try:
        assert widget.presenter and user_code(widget) not in repr(widget)
    finally:
        finish(widget)


def test_a_presenter_pkce_widget_is_unchanged_and_signs_in(
    fresh_dev: DevServer, presenting: None
) -> None:
    widget = LoginWidget(loopback_config(fresh_dev), flow="pkce", tick=None, store=None)
    try:
        assert widget.presenter and "request_uri=" in link_of(widget)  # unmasked: PAR
        browser = in_thread(lambda: sign_in(link_of(widget), ADA, ADA_PASSWORD))
        widget.wait(30)
        assert "signed in" in result_of(*browser).text.lower()  # type: ignore[attr-defined]
        assert f"Signed in as {SHOWN_ADA}" in repr(widget)
    finally:
        finish(widget)


# -- the dev server's pages --------------------------------------------------------------------


def device_code(dev: DevServer) -> str:
    answer = httpx.post(
        f"{dev.issuer}/v1/device/authorize",
        data={"client_id": dev.app("native").client_id, "scope": "openid email profile"},
    )
    code: str = answer.json()["user_code"]
    return code


def activate(dev: DevServer, code: str, password: str = ADA_PASSWORD) -> httpx.Response:
    form = {"user_code": code, "username": ADA, "password": password, "action": "allow"}
    return httpx.post(f"{dev.base_url}/activate", data=form)


def test_pages_show_everything_without_presenter_mode(fresh_dev: DevServer) -> None:
    assert not fresh_dev.presenter
    code = device_code(fresh_dev)
    page = httpx.get(f"{fresh_dev.base_url}/activate", params={"user_code": code}).text
    assert CODE_FIELD.search(page).groups() == ("text", code)  # type: ignore[union-attr]
    assert "replaceState" not in page and "Presenter mode" not in page
    assert f'value="{ADA}"' in activate(fresh_dev, code, "wrong").text
    assert f"Signed in as {ADA}." in activate(fresh_dev, code).text
    assert ADA in httpx.get(fresh_dev.base_url + "/").text


def test_presenter_pages_mask_codes_and_addresses(presenter_dev: DevServer) -> None:
    assert presenter_dev.presenter
    code = device_code(presenter_dev)
    page = httpx.get(f"{presenter_dev.base_url}/activate", params={"user_code": code}).text
    # The field holds the code (the form submits it) but shows dots; a box shows it.
    assert CODE_FIELD.search(page).groups() == ("password", code)  # type: ignore[union-attr]
    assert page.count(code) == 1 and "Show the code" in page
    assert "history.replaceState" in page  # and the URL bar loses ?user_code=
    assert "Presenter mode" in page
    wrong = activate(presenter_dev, code, "wrong")
    assert wrong.status_code == 401 and ADA not in wrong.text
    assert CODE_FIELD.search(wrong.text).groups() == ("password", code)  # type: ignore[union-attr]
    done = activate(presenter_dev, code)
    assert done.status_code == 200 and "Device activated" in done.text
    assert "Signed in as a…@example.com." in done.text and ADA not in done.text
    index = httpx.get(presenter_dev.base_url + "/").text
    assert ADA not in index and "a…@example.com" in index


def test_presenter_sign_in_page_does_not_echo_the_address(presenter_dev: DevServer) -> None:
    config = loopback_config(presenter_dev)
    params = {
        "client_id": config.client_id,
        "response_type": "code",
        "scope": "openid email",
        "redirect_uri": config.redirect_uri,
        "state": "s" * 16,
        "code_challenge": "a" * 43,
        "code_challenge_method": "S256",
    }
    url = f"{presenter_dev.issuer}/v1/authorize"
    with httpx.Client() as browser:
        page = browser.get(url, params=params)
        txn = TXN.search(page.text)
        assert txn and "Presenter mode" in page.text
        form = {"txn": txn.group(1), "username": ADA, "password": "wrong", "action": "signin"}
        again = browser.post(url, data=form)
        assert again.status_code == 401 and ADA not in again.text
        form["password"] = ADA_PASSWORD
        assert browser.post(url, data=form).status_code == 302  # the form still works


def test_a_presenter_device_login_completes_from_the_link(presenter_dev: DevServer) -> None:
    widget = make(presenter_dev, presenter=True)
    try:
        link = link_of(widget)  # the only place the widget keeps the code readable to a browser
        with httpx.Client() as browser:
            page = browser.get(link)
            field = CODE_FIELD.search(page.text)
            assert field and field.group(1) == "password"
            form = {
                "user_code": field.group(2),
                "username": ADA,
                "password": ADA_PASSWORD,
                "action": "allow",
            }
            done = browser.post(f"{presenter_dev.base_url}/activate", data=form)
        assert done.status_code == 200 and "a…@example.com" in done.text
        assert widget.wait(5) is widget.session
        assert f"Signed in as {SHOWN_ADA}" in repr(widget)
    finally:
        finish(widget)


# -- switching the dev server's presenter mode on ----------------------------------------------


def test_dev_server_presenter_from_env_option_and_config(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not DevServer(port=0).presenter
    assert DevServer(port=0, config={"server": {"presenter": True}}).presenter
    monkeypatch.setenv(PRESENTER_ENV, "1")
    assert DevServer(port=0).presenter
    assert not DevServer(port=0, presenter=False).presenter  # the argument wins
    with pytest.raises(SettingsError, match="presenter must be true or false"):
        DevServer(port=0, config={"server": {"presenter": "yes"}})


def test_cli_presenter_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(*args: Any, **kwargs: Any) -> DevServer:
        seen.update(kwargs)
        raise DevServerError("not started in this test")

    monkeypatch.setattr(devserver_cli, "DevServer", fake)
    assert devserver_cli.main(["--port", "0", "--presenter"]) == 2
    assert seen["presenter"] is True
    assert devserver_cli.main(["--port", "0"]) == 2
    assert seen["presenter"] is None  # None: OKTA_NB_AUTH_PRESENTER decides


# -- whole notebooks ---------------------------------------------------------------------------

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
USER_CODE = re.compile(r"\b[BCDFGHJKLMNPQRSTVWXZ]{8}\b")  # the dev server's and Okta's codes


def strings_in(node: Any) -> Iterator[str]:
    """Every string in an output or in the widget state, whatever its MIME type."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_in(value)
    elif isinstance(node, str):
        yield node


@pytest.mark.slow
@pytest.mark.parametrize("name", ["02_offline_access", "07_widget_login", "08_stay_signed_in"])
def test_a_notebook_run_by_a_presenter_shows_no_name_address_or_code(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRESENTER_ENV, "1")
    for variable in ("OKTA_DOMAIN", "OKTA_ISSUER", "OKTA_CLIENTID", "OKTA_CLIENT_ID"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("OKTA_NB_AUTH_DEVSERVER_CONFIG", raising=False)
    path = NOTEBOOKS / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        startup_timeout=KERNEL_START,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    outputs = [cell.get("outputs", []) for cell in notebook.cells]
    widgets = notebook.metadata.get("widgets", {})
    state = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state")
    assert state or name == "02_offline_access", "no widget state: the test would miss it"
    shown = "\n".join(strings_in([outputs, widgets]))
    for private in (ADA, "Ada Lovelace", "Lovelace"):
        assert private not in shown
    assert USER_CODE.findall(shown) == []
    assert "A… L…" in shown  # who signed in is still shown, as the widget shows it
