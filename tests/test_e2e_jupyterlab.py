"""End to end: a real JupyterLab in headless Chromium signs in with the login widget.

JupyterLab runs notebook 07 (a temporary copy) against a dev server that this test starts and
points the notebook at through ``OKTA_ISSUER`` / ``OKTA_CLIENT_ID``, so the notebook takes
its real-Okta path: nothing approves the device code but a person. Chromium, driven by
Playwright (Debian's ``/usr/bin/chromium``, no browser download), runs all cells, follows
the widget's link to the ``/activate`` page, signs in as Ada, and waits for "Signed in as"
in the widget. The widget's link must look like a link and its Copy button like the widget's
other buttons (JupyterLab's CSS, not ours, decides: so they are checked in JupyterLab).

A second test runs the whole notebook on its own dev server (no OKTA_*), as a learner without
an org does, and reads its top: the widget there still reads "Signed in" after Run All.

With ``OKTA_NB_AUTH_SCREENSHOTS=<folder>`` both keep pictures of what they saw.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from flow_helpers import free_port
from playwright.sync_api import Locator, Page, expect, sync_playwright

from okta_nb_auth.devserver import DevServer

ROOT = Path(__file__).parent.parent
NOTEBOOK = "07_widget_login.ipynb"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SETTINGS = {  # render every cell (no windowing), no news or update checks
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _lab_env(tmp: Path, dev: DevServer | None) -> dict[str, str]:
    """The server's environment: OKTA_* point at ``dev``, or (None) are unset, so the
    notebook starts a dev server of its own, as it does for a learner without an org."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA", "JUPYTER"))}
    if dev is not None:
        config = dev.config("native")
        env.update(OKTA_ISSUER=config.issuer, OKTA_CLIENT_ID=config.client_id)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        OKTA_NB_AUTH_CACHE=str(tmp / "okta-cache"),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def _serve_lab(tmp_path: Path, dev: DevServer | None) -> Iterator[str]:
    """A JupyterLab on 127.0.0.1 serving a copy of notebook 07; yields its URL with token."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    for name, values in SETTINGS.items():
        path = tmp_path / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), free_port()
    jupyter = Path(sys.executable).parent / "jupyter"
    command = [str(jupyter), "lab", "--no-browser", f"--IdentityProvider.token={token}"]
    command += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"]
    command += [f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={tmp_path}/settings"]
    command += [f"--LabApp.workspaces_dir={tmp_path}/workspaces"]
    if os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        command, env=_lab_env(tmp_path, dev), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/api/status?token={token}", proc, tmp_path / "lab.log")
        yield f"{base}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def lab(tmp_path: Path, fresh_dev: DevServer) -> Iterator[str]:
    """Notebook 07 in JupyterLab, pointed at ``fresh_dev`` as at a real org (a person signs in)."""
    fresh_dev.configure_app("native", device_interval=1)
    with _serve_lab(tmp_path, fresh_dev) as url:
        yield url


@pytest.fixture
def dev_lab(tmp_path: Path) -> Iterator[str]:
    """Notebook 07 in JupyterLab with no OKTA_*: it runs on its own, self-approving dev server."""
    with _serve_lab(tmp_path, None) as url:
        yield url


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"JupyterLab did not start:\n{log.read_text()}")


def _run_all(page: Page) -> None:
    """Restart the kernel and run all cells (the notebook toolbar's ⏩ button).

    It waits until the status bar says the kernel is idle: the execution indicator alone can
    read idle while the kernel is still initializing, and a restart then (a loaded machine)
    may lose the kernel's websocket in jupyter_server ("Replacing stale connection").
    """
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=30_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=30_000)
    dialog = page.locator(".jp-Dialog .jp-mod-accept")  # "Select Kernel", if it still shows
    if dialog.count():
        dialog.click()
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=60_000)
    page.locator("[data-command='notebook:restart-run-all']").first.click()
    page.locator(".jp-Dialog .jp-mod-accept").click()  # "Restart Kernel?"


def _screenshot(page: Page, name: str, show: Locator | None = None) -> None:
    """Keep a picture for people when OKTA_NB_AUTH_SCREENSHOTS names a folder.

    JupyterLab scrolls the notebook inside its own panel (a full-page shot shows only its
    top): ``show`` is scrolled into view first, so the picture has the widget in it.
    """
    folder = os.environ.get("OKTA_NB_AUTH_SCREENSHOTS")
    if folder:
        if show is not None:
            show.scroll_into_view_if_needed()
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_sign_in_from_the_widget_in_jupyterlab(lab: str) -> None:
    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"])
            page = context.new_page()
            page.goto(lab)
            _run_all(page)
            link = page.locator("a.okta-login-link")
            link.wait_for(timeout=30_000)
            _screenshot(page, "widget-device-code", link)
            _assert_styled_like_jupyterlab(page)
            code = page.locator(".widget-html-content code").inner_text()
            page.locator(".widget-html-content button", has_text="Copy").click()
            assert page.evaluate("navigator.clipboard.readText()") == code
            with context.expect_page() as opened:
                link.click()
            activate = opened.value
            activate.wait_for_load_state()
            assert activate.locator("#user_code").input_value() == code
            activate.fill("#username", "ada@example.com")
            activate.fill("#password", "analytical-engine")
            activate.click("#allow")
            activate.locator("#message", has_text="Signed in as ada@example.com").wait_for()
            signed_in = page.locator(".widget-html-content", has_text="Signed in as Ada Lovelace")
            signed_in.wait_for(timeout=30_000)
            assert "ada@example.com" in signed_in.inner_text()
            _screenshot(activate, "activate-page")
            _screenshot(page, "widget-signed-in", signed_in)
            timer = page.locator(".widget-html-content", has_text="Access token expires in")
            assert re.search(r"expires in \d+:\d\d · \d+ refresh", timer.inner_text())
            # Restart the kernel and run everything again: the stored login signs it in.
            _run_all(page)
            resumed = page.locator(
                ".widget-html-content", has_text="The tokens came from the token store"
            )
            resumed.wait_for(timeout=30_000)
            assert "Signed in as Ada Lovelace" in resumed.inner_text()
            assert page.locator("a.okta-login-link").count() == 0  # no flow at all
            _screenshot(page, "widget-resumed-after-restart", resumed)
        finally:
            browser.close()


#: What makes a button look like an ipywidgets Button (its size and colours).
BUTTON_LOOK = ("backgroundColor", "color", "height", "fontSize", "fontFamily", "borderStyle")


def _computed(locator: Locator, names: tuple[str, ...]) -> dict[str, str]:
    script = "(el, names) => Object.fromEntries(names.map(n => [n, getComputedStyle(el)[n]]))"
    values: dict[str, str] = locator.evaluate(script, list(names))
    return values


def _assert_styled_like_jupyterlab(page: Page) -> None:
    """The sign-in link reads as a link, the Copy button as one of the widget's buttons."""
    link = page.locator("a.okta-login-link")
    text = page.locator(".widget-html-content", has=link)
    shown = _computed(link, ("color", "textDecorationLine", "cursor"))
    assert shown["textDecorationLine"] == "underline" and shown["cursor"] == "pointer"
    assert shown["color"] != _computed(text, ("color",))["color"], "a link has a colour"
    copy = page.locator(".widget-html-content button", has_text="Copy")
    cancel = page.get_by_role("button", name="Cancel", exact=True)  # an ipywidgets Button
    assert _computed(copy, BUTTON_LOOK) == _computed(cancel, BUTTON_LOOK)


def test_run_all_on_the_dev_server_leaves_the_top_reading_right(dev_lab: str) -> None:
    """After Run All, the widget under the login cell reads "Signed in" above the prose that
    explains signing in; the log-out at the end shows in a widget of its own, down there."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(dev_lab)
            _run_all(page)
            done = page.locator(".jp-OutputArea-output", has_text="Done. The dev server stays up")
            done.wait_for(timeout=60_000)
            top = page.locator(".jp-CodeCell", has_text="widget = login(").locator(".jp-OutputArea")
            top.locator(".widget-html-content", has_text="Signed in as Ada Lovelace").wait_for(
                timeout=30_000
            )
            # The front end applies the widget's updates one by one: wait for the last.
            expect(top).not_to_contain_text("Logged out", timeout=30_000)
            expect(top).not_to_contain_text("session ended", timeout=30_000)
            _screenshot(page, "run-all-top-widget", top)
            bottom = page.locator(".jp-CodeCell", has_text="second = login(")
            logged_out = bottom.locator(".widget-html-content", has_text="Logged out")
            logged_out.wait_for(timeout=30_000)
            assert "the widget above: signed_in" in bottom.inner_text()
            _screenshot(page, "run-all-log-out-widget", logged_out)
        finally:
            browser.close()
