"""What the login widget and the terminal show, as text and as escaped HTML.

Pure functions of a :class:`LoginView` snapshot, so the widget's trait values, its stable text
repr and the terminal twin say the same things. Every value that came from a server goes
through :func:`html.escape`; no token ever reaches these functions. With ``presenter`` set
(presenter mode) the user code is masked wherever it can be read, the link still carries it
(so signing in works), and names and e-mail addresses are shortened to initials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._presenter import CODE_MASK, UNKNOWN_USER, mask_user, masked

__all__ = [
    "BUTTON_CLASS",
    "LINK_STYLE",
    "STORED_USER",
    "LoginView",
    "ago_text",
    "clock_text",
    "html_parts",
    "plain_text",
]

#: Who is signed in when the token store has no ID-token claims to say it.
STORED_USER = "the stored user"


@dataclass(frozen=True)
class LoginView:
    """A snapshot of one login widget's state (no secrets: no token, no verifier)."""

    flow: str
    reason: str
    state: str  # idle starting waiting signed_in failed cancelled logged_out relogin
    message: str = ""
    link: str | None = None
    user_code: str | None = None
    code_valid_for: float | None = None
    seconds_left: float | None = None
    user: str | None = None
    token_seconds_left: float | None = None
    refreshes: int = 0
    presenter: bool = False  # presenter mode: mask the user code, names and e-mail addresses


def _screen(view: LoginView) -> LoginView:
    """What may be shown: in presenter mode, names and e-mail addresses shortened, user codes
    in free text masked (the structured ``user_code`` is kept: the link needs it)."""
    if not view.presenter:
        return view
    user = view.user
    if user and user not in (STORED_USER, UNKNOWN_USER):
        user = mask_user(user)
    return replace(
        view,
        reason=masked(view.reason, True),
        message=masked(view.message, True),
        user=user,
    )


def _without_code(link: str) -> str:
    """``link`` without its ``user_code`` parameter: the page then asks for the code."""
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "user_code"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def ago_text(seconds: float) -> str:
    """``just now``, ``5 minutes ago``, ``3 hours ago``, ``2 days ago``."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def clock_text(seconds: float) -> str:
    """``9:05`` or ``1:00:00``; negative values read ``0:00``."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


_STATUS = {
    "idle": "Not signed in. Click Log in to start.",
    "starting": "Starting the login…",
    "cancelled": "The login was cancelled. Click Log in to start again.",
    "logged_out": "Logged out: the tokens were revoked at Okta. Click Log in to sign in again.",
}


def status_text(view: LoginView) -> str:
    """One line saying what is happening and what to do."""
    if view.state == "waiting" and view.flow == "device":
        return view.message or "Waiting for you to sign in on the page…"
    if view.state == "waiting":
        return view.message or "Waiting for the sign-in to finish in the browser tab…"
    if view.state == "signed_in":
        return f"Signed in as {view.user}" + (f". {view.message}" if view.message else "")
    if view.state == "failed":
        return f"Login failed: {view.message} Click Log in to try again."
    if view.state == "relogin":
        return (
            f"Your Okta session ended: {view.message} Click Log in to sign in again; the same "
            "AuthSession carries on."
        )
    return view.message or _STATUS.get(view.state, view.state)


def token_line(view: LoginView) -> str:
    """``Access token expires in 59:58 · 0 refreshes`` (signed in only)."""
    left = view.token_seconds_left or 0.0
    when = f"expires in {clock_text(left)}" if left > 0 else "has expired (refreshed on next use)"
    plural = "" if view.refreshes == 1 else "es"
    return f"Access token {when} · {view.refreshes} refresh{plural}"


def _device_steps(view: LoginView) -> list[str]:
    if not view.presenter:
        return [
            f"  1. Open {view.link}",
            f"  2. Check that the page shows the code {view.user_code}, then sign in.",
        ]
    return [
        f"  1. Open {_without_code(view.link or '')}",
        f"  2. Enter the code {CODE_MASK} there, then sign in.",
        "  Presenter mode hides the code: the widget's link fills it in; "
        "widget.presenter = False shows it.",
    ]


def plain_text(view: LoginView) -> str:
    """The stable text repr: what nbval, GitHub and a terminal IPython show."""
    view = _screen(view)
    lines = [f"Okta login, {view.flow} flow: {view.reason}."]
    if view.state == "waiting" and view.flow == "device":
        minutes = round((view.code_valid_for or 0) / 60)
        lines += [
            *_device_steps(view),
            f"  The code is valid for {minutes} minutes. In code: session = widget.wait()",
        ]
    elif view.state == "waiting":
        lines += [
            f"  Open {view.link}",
            "  and sign in. In code: session = widget.wait()",
        ]
    else:
        lines.append(f"  {status_text(view)}")
        if view.state == "signed_in":
            lines.append(f"  {token_line(view)}")
    return "\n".join(lines)


def _web_url(url: str) -> bool:
    """Only http(s) links are rendered: a server's ``javascript:`` URI must not become one."""
    return urlsplit(url).scheme in ("https", "http")


# JupyterLab's base CSS takes a link's colour and underline away inside widget HTML, and a bare
# <button> looks like none of the widget's buttons: inline styles (no <style> block to leak
# into the page) and the classes ipywidgets gives its own buttons put them back. The colour
# follows the theme (JupyterLab's link colour) and falls back to a plain link blue elsewhere.
_LINK_COLOUR = "var(--jp-content-link-color,#0d47a1)"
LINK_STYLE = f"color:{_LINK_COLOUR};text-decoration:underline;cursor:pointer"
#: The classes of an ipywidgets Button, so that the Copy button looks like the others.
BUTTON_CLASS = "jupyter-widgets jupyter-button widget-button"
_BUTTON_STYLE = "width:auto;min-width:5em;vertical-align:middle"


def _copy_button(code: str) -> str:
    script = escape(f"navigator.clipboard.writeText({json.dumps(code)})")
    return (
        f' <button type="button" class="{BUTTON_CLASS}" style="{_BUTTON_STYLE}" '
        f'onclick="{script}" title="Copy the code">Copy</button>'
    )


def _code_html(code: str, presenter: bool) -> str:
    style = "font-size:1.4em;letter-spacing:.1em;vertical-align:middle"
    if not presenter:
        return f'<code style="{style}">{escape(code)}</code>' + _copy_button(code)
    # Masked on the projected screen; the presenter can still read it (show) or copy it.
    return (
        f'<code style="{style}">{CODE_MASK}</code> '
        '<details style="display:inline-block;vertical-align:middle">'
        f'<summary style="{LINK_STYLE}" title="Presenter mode hides the code">show</summary>'
        f'<code style="{style}">{escape(code)}</code></details>' + _copy_button(code)
    )


def html_parts(view: LoginView) -> dict[str, str]:
    """HTML for the widget's parts: header, link, code, timer, status (all escaped)."""
    view = _screen(view)
    flow = "device code" if view.flow == "device" else "browser (PKCE)"
    parts = {
        "header": f"<b>Okta login</b> · {escape(flow)} flow: {escape(view.reason)}",
        "link": "",
        "code": "",
        "timer": "",
        "status": escape(status_text(view)),
    }
    if view.state == "waiting" and view.link and _web_url(view.link):
        label = "Open the sign-in page" if view.flow == "device" else "Open the Okta sign-in page"
        parts["link"] = (
            f'<a href="{escape(view.link)}" target="_blank" rel="noopener noreferrer" '
            f'class="okta-login-link" style="{LINK_STYLE}">{label}</a> (opens a new tab'
            + ("; it fills in the code)" if view.presenter and view.user_code else ")")
        )
    if view.state == "waiting" and view.user_code:
        hidden = " (presenter mode hides it)" if view.presenter else ""
        parts["code"] = f"Check that the page shows this code{hidden}: " + _code_html(
            view.user_code, view.presenter
        )
    if view.state == "waiting" and view.seconds_left is not None:
        parts["timer"] = f"The code expires in {clock_text(view.seconds_left)}"
    if view.state == "signed_in":
        parts["timer"] = escape(token_line(view))
    return parts
