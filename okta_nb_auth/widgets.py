"""The notebook login: :func:`login` and :class:`LoginWidget`, a thin view over the flows.

The login runs on a background thread (so the cell finishes); ``widget.wait()`` returns the
:class:`~okta_nb_auth.AuthSession`. Tokens live only on that Python object: no synced trait
and no output ever holds one. ``ipywidgets`` is imported on first use; without it an
ImportError names the extra to install. The text repr is what nbval, GitHub and a terminal
IPython show, so it carries readable instructions.
"""

from __future__ import annotations

import importlib
import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping
from typing import Any

import anyio

from ._config import OktaConfig
from ._exceptions import LoginTimeout
from ._presenter import UNKNOWN_USER, mask_user, presenter_on
from ._session import AuthSession
from .logins import LoginController, choose_flow
from .logins._text import STORED_USER, html_parts, plain_text
from .store._select import StoreChoice, resolve_store

__all__ = ["LoginWidget", "WaitTimeout", "login"]

INSTALL_HINT = "pip install 'okta-nb-auth[widgets]'"


def _ipywidgets() -> Any:
    try:
        return importlib.import_module("ipywidgets")
    except ImportError as exc:
        raise ImportError(f"The login widget needs ipywidgets: {INSTALL_HINT}") from exc


def _display(obj: object, **kwargs: Any) -> None:
    importlib.import_module("IPython.display").display(obj, **kwargs)


class WaitTimeout(LoginTimeout, TimeoutError):
    """``widget.wait(timeout)`` ran out of time; the login itself goes on.

    A :class:`~okta_nb_auth.LoginTimeout` (so one line in IPython, not a traceback) and a
    builtin :class:`TimeoutError` (what ``wait()`` and ``wait_async()`` raised before).
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(
            f"Not signed in after {timeout:g} s, and the login goes on: finish the sign-in the "
            "widget shows, then run this cell again (the widget's Cancel button stops it)."
        )
        self.timeout = timeout


class LoginWidget:
    """Sign in to Okta from a notebook (see :func:`login`); ``wait()`` returns the session.

    ``tick``: seconds between timer updates (None: no timer thread). ``environ``: the
    environment for the ``flow="auto"`` decision and the presenter default (``os.environ``).
    ``sleep`` / ``clock``: injectable for tests. ``store``: where the login is kept (see
    :func:`login`). ``presenter``: mask the user code, names and e-mail addresses (see
    :func:`login`); :attr:`presenter` can be switched later.
    """

    def __init__(
        self,
        config: OktaConfig | None = None,
        *,
        flow: str = "auto",
        session: AuthSession | None = None,
        timeout: float = 600.0,
        tick: float | None = 1.0,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        start: bool = True,
        store: StoreChoice = "default",
        presenter: bool | None = None,
    ) -> None:
        w = _ipywidgets()
        self.config = OktaConfig.from_env() if config is None else config
        self.choice = choose_flow(self.config, flow, environ=environ)
        self._html = {name: w.HTML() for name in ("header", "link", "code", "timer", "status")}
        self.paste_box = w.Text(placeholder="Paste the address of the page after sign-in")
        self.paste_button = w.Button(description="Use this address")
        self.login_button = w.Button(description="Log in", button_style="primary")
        self.cancel_button = w.Button(description="Cancel")
        self.logout_button = w.Button(description="Log out")
        self.paste_row = w.HBox([self.paste_box, self.paste_button])
        buttons = w.HBox([self.login_button, self.cancel_button, self.logout_button])
        self.box = w.VBox([*self._html.values(), self.paste_row, buttons])
        self._control = LoginController(
            self.config,
            self.choice,
            on_change=self._render,
            session=session,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            store=resolve_store(store),
            presenter=presenter_on(presenter, environ),
        )
        self.login_button.on_click(lambda _: self.start())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.logout_button.on_click(lambda _: self.logout())
        self.paste_button.on_click(lambda _: self._paste())
        self._tick, self._closed = tick, threading.Event()
        self._ticker: threading.Thread | None = None
        self._shown_in: int | None = None
        self._render()
        if start:
            self._resume_or_start()

    # ---------------------------------------------------------------- public API

    @property
    def session(self) -> AuthSession | None:
        """The signed-in :class:`AuthSession` (None before the first login and after log-out)."""
        signed_in = self._control.state in ("signed_in", "relogin")
        return self._control.session if signed_in else None

    @property
    def state(self) -> str:
        """``idle``, ``starting``, ``waiting``, ``signed_in``, ``failed``, ``cancelled``,
        ``logged_out`` or ``relogin`` (a refresh needs a new login)."""
        return self._control.state

    @property
    def user(self) -> str | None:
        """Who signed in (``Name <email>`` from the verified ID token), or None.

        In presenter mode it reads as the widget shows it (``A… L… <a…@example.com>``), so a
        cell that prints it shows no name either; ``session.okta_auth.id_claims`` holds the
        verified claims unmasked.
        """
        if self.session is None or not self._control.user:
            return None
        user = self._control.user
        shown = self.presenter and user not in (STORED_USER, UNKNOWN_USER)
        return mask_user(user) if shown else user

    @property
    def presenter(self) -> bool:
        """Presenter mode: the view masks the user code (its link still fills it in) and
        shortens names and e-mail addresses to initials, :attr:`user` too."""
        return self._control.presenter

    @presenter.setter
    def presenter(self, on: bool) -> None:
        self._control.presenter = bool(on)
        self._render()

    @property
    def refreshes(self) -> int:
        """Token refreshes since the last login."""
        return self._control.refreshes

    @property
    def children(self) -> list[Any]:
        """Every ipywidgets object of the view (for tests: none holds a secret)."""
        found, todo = [], [self.box]
        while todo:
            widget = todo.pop()
            found.append(widget)
            todo.extend(getattr(widget, "children", ()))
        return found

    def start(self) -> None:
        """Start a login (the "Log in" button); does nothing while one is running."""
        if self._control.prepare():
            self._launch()

    def cancel(self) -> None:
        """Stop a running login (the "Cancel" button); its thread ends at once."""
        self._control.cancel()

    def logout(self) -> None:
        """Revoke the tokens at Okta and forget them (the "Log out" button)."""
        self._control.logout()

    def wait(self, timeout: float | None = None) -> AuthSession:
        """Block until signed in and return the session; raise the login's error if it failed.

        After ``timeout`` seconds, :class:`WaitTimeout` (a ``LoginTimeout`` and a
        ``TimeoutError``) says what to do; the login goes on and ``wait()`` can run again.

        A kernel interrupt (Ctrl-C) cancels the login. While a cell waits, the widget's
        buttons and paste box cannot act: for the paste fallback, do not call ``wait()`` first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                session = self._control.outcome()
                if session is not None:
                    return session
                if deadline is not None and time.monotonic() > deadline:
                    assert timeout is not None
                    raise WaitTimeout(timeout)
                self._control.current().done.wait(0.1)
        except KeyboardInterrupt:
            self.cancel()
            raise

    async def wait_async(self, timeout: float | None = None) -> AuthSession:
        """The async twin of :meth:`wait` (``await widget.wait_async()`` or ``await widget``)."""
        with anyio.move_on_after(timeout):
            while True:
                session = self._control.outcome()
                if session is not None:
                    return session
                await anyio.sleep(0.05)
        raise WaitTimeout(timeout or 0.0)  # only a deadline ends the loop without a return

    def __await__(self) -> Generator[Any, None, AuthSession]:
        return self.wait_async().__await__()

    def refresh_view(self) -> None:
        """Update the timers; show a re-login prompt if a refresh failed with LoginRequired."""
        self._control.check_session()
        self._render()

    def close(self) -> None:
        """Cancel any login, stop the timer thread and close the view."""
        self.cancel()
        self._closed.set()
        if self._ticker is not None:
            self._ticker.join(2.0)
        for child in self.children:
            child.close()

    # ---------------------------------------------------------------- display

    def __repr__(self) -> str:
        return plain_text(self._control.view())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        view = {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id}
        return {"text/plain": repr(self), "application/vnd.jupyter.widget-view+json": view}

    def _ipython_display_(self) -> None:
        shell = importlib.import_module("IPython").get_ipython()
        count = getattr(shell, "execution_count", None)
        if count is not None and count == self._shown_in:
            return  # login() showed it in this cell already: a bare `login()` shows it once
        self._shown_in = count
        _display(self._repr_mimebundle_(), raw=True)

    # ---------------------------------------------------------------- internals

    def _resume_or_start(self) -> None:
        if self._control.resume():
            self._start_ticker()
        else:
            self.start()

    def _launch(self) -> None:
        self._control.launch()
        self._start_ticker()

    def _start_ticker(self) -> None:
        if self._tick is not None and (self._ticker is None or not self._ticker.is_alive()):
            self._ticker = threading.Thread(
                target=_tick, args=(weakref.ref(self), self._tick, self._closed), daemon=True
            )
            self._ticker.start()

    def _paste(self) -> None:
        url, self.paste_box.value = self.paste_box.value, ""  # the code never stays in a trait
        self._control.paste(url)

    def _render(self) -> None:
        with self._control.lock:
            view = self._control.view()
            for name, value in html_parts(view).items():
                self._html[name].value = value
                self._html[name].layout.display = "" if value else "none"
            waiting = view.state in ("starting", "waiting")
            pasting = waiting and view.flow == "pkce"
            self.paste_row.layout.display = "" if pasting else "none"
            self.login_button.layout.display = "none" if waiting else ""
            self.cancel_button.layout.display = "" if waiting else "none"
            signed_in = view.state in ("signed_in", "relogin")
            self.logout_button.layout.display = "" if signed_in else "none"
            # Logging in is the thing to do unless a session is running fine.
            self.login_button.button_style = "" if view.state == "signed_in" else "primary"


def _tick(ref: weakref.ref[LoginWidget], every: float, closed: threading.Event) -> None:
    """The timer thread: ends once nothing is counting down, or the widget is closed or gone."""
    while not closed.wait(every):
        widget = ref()
        if widget is None or widget.state not in ("starting", "waiting", "signed_in"):
            return
        widget.refresh_view()
        del widget


def login(
    config: OktaConfig | None = None,
    *,
    flow: str = "auto",
    session: AuthSession | None = None,
    timeout: float = 600.0,
    display: bool = True,
    store: StoreChoice = "default",
    presenter: bool | None = None,
    **options: Any,
) -> LoginWidget:
    """Show a login widget at once and sign in in the background.

    ``config`` defaults to ``OktaConfig.from_env()``. ``flow``: ``"auto"`` (the device flow on
    remote kernels, PKCE with a loopback redirect on a local one; the widget says why),
    ``"device"`` or ``"pkce"``. ``session``: an :class:`AuthSession` to resume. ``timeout``:
    seconds the browser flow waits for its redirect. Later cells call ``widget.wait()`` (or
    ``await widget``) for the signed-in session. ``store``: where the login is kept, so a
    restarted kernel (or another notebook, or ``okta-nb-auth login``) is signed in at once:
    ``"default"`` (``$OKTA_NB_AUTH_STORE``, else the file store), a store object, or None
    (memory only). When the store holds a usable login, the widget shows it with no flow.
    ``presenter``: for a projected screen, mask the device user code (the widget's link still
    fills it in; "show" reveals it) and shorten names and e-mail addresses
    (``A… L… <a…@example.com>``); the default is on when ``OKTA_NB_AUTH_PRESENTER=1``.
    ``options`` go to :class:`LoginWidget`.
    """
    widget = LoginWidget(
        config,
        flow=flow,
        session=session,
        timeout=timeout,
        start=False,
        store=store,
        presenter=presenter,
        **options,
    )
    control = widget._control
    resumed = control.resume()
    started = not resumed and control.prepare()  # the link and code exist before it shows
    if display:
        _display(widget)
    if started:
        widget._launch()
    elif resumed:
        widget._start_ticker()
    return widget
