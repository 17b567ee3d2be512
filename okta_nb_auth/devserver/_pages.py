"""HTML pages a person uses in a real browser: sign-in, device activation, errors.

Every value that came from a request goes through :func:`html.escape`. With ``presenter``
(presenter mode, for a projected screen) no page shows an e-mail address or a user code: the
code field is a masked input that still submits the code, and a typed username is not echoed.
"""

from __future__ import annotations

from html import escape

from .._presenter import mask_email, masked

__all__ = ["activate_page", "error_page", "form_post_page", "index_page", "login_page", "message"]

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:420px;margin:48px auto;background:#fff;padding:32px;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.3em;margin-top:0}label{display:block;margin:12px 0 4px}
input[type=text],input[type=password],input[type=email]{width:100%;padding:8px;
box-sizing:border-box;font-size:1em}
button{margin-top:16px;padding:8px 16px;font-size:1em;cursor:pointer}
.error{color:#a00;background:#fee;padding:8px;border-radius:4px}
.note{color:#555;font-size:.9em}code{font-size:1.1em}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><p class=note>okta-nb-auth dev server</p>{body}</main></body></html>"
    )


def _error(text: str | None) -> str:
    return f"<p class=error role=alert id=error>{escape(text)}</p>" if text else ""


_PRESENTER_NOTE = (
    "<p class=note id=presenter>Presenter mode: e-mail addresses and codes are hidden.</p>"
)
# The URL bar would show ?user_code=…: drop it from there (the form already holds the code).
_HIDE_QUERY = "<script>history.replaceState(null, '', location.pathname)</script>"
_SHOW_CODE = (
    '<label class=note><input type=checkbox id=show_code onchange="'
    "document.getElementById('user_code').type = this.checked ? 'text' : 'password'\"> "
    "Show the code</label>"
)


def _note(presenter: bool) -> str:
    return _PRESENTER_NOTE if presenter else ""


def login_page(
    txn: str,
    app_name: str,
    scopes: str,
    username: str,
    error: str | None,
    *,
    presenter: bool = False,
) -> str:
    """The sign-in form of ``/v1/authorize``."""
    if presenter:
        username, error = "", error and masked(error, True)  # a typed address is not echoed
    return _page(
        "Sign in",
        f"<h1>Sign in</h1>{_note(presenter)}<p>to <b>{escape(app_name)}</b>, which asks for "
        f"<code>{escape(scopes)}</code></p>{_error(error)}"
        '<form method=post action="">'
        f'<input type=hidden name=txn value="{escape(txn)}">'
        "<label for=username>Username</label>"
        f"<input type=text id=username name=username autocomplete=username "
        f'value="{escape(username)}" autofocus>'
        "<label for=password>Password</label>"
        "<input type=password id=password name=password autocomplete=current-password>"
        "<button type=submit name=action value=signin id=signin>Sign in</button> "
        "<button type=submit name=action value=cancel id=cancel>Cancel</button></form>",
    )


def activate_page(
    user_code: str, username: str, error: str | None, *, presenter: bool = False
) -> str:
    """The device activation form of ``/activate``."""
    kind = "password" if presenter else "text"  # masked on screen, submitted as typed
    if presenter:
        username, error = "", error and masked(error, True)
    return _page(
        "Activate your device",
        "<h1>Activate your device</h1>"
        f"{_note(presenter)}<p>Enter the code shown on your device, then sign in.</p>"
        f"{_error(error)}<form method=post action=/activate>"
        "<label for=user_code>Activation code</label>"
        f'<input type={kind} id=user_code name=user_code value="{escape(user_code)}" '
        "autocomplete=off>"
        f"{_SHOW_CODE if presenter else ''}"
        "<label for=username>Username</label>"
        f'<input type=text id=username name=username value="{escape(username)}" '
        "autocomplete=username>"
        "<label for=password>Password</label>"
        "<input type=password id=password name=password autocomplete=current-password>"
        "<button type=submit name=action value=allow id=allow>Allow access</button> "
        "<button type=submit name=action value=deny id=deny>Deny</button></form>"
        f"{_HIDE_QUERY if presenter else ''}",
    )


def message(title: str, text: str, *, presenter: bool = False) -> str:
    text = masked(text, presenter)
    return _page(title, f"<h1>{escape(title)}</h1><p id=message>{escape(text)}</p>")


def error_page(text: str) -> str:
    return _page("Error", f"<h1>Something went wrong</h1>{_error(text)}")


def form_post_page(redirect_uri: str, fields: dict[str, str]) -> str:
    """``response_mode=form_post``: a form that posts the result to the client."""
    inputs = "".join(
        f'<input type=hidden name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return _page(
        "Continue",
        f'<form method=post action="{escape(redirect_uri)}" id=result>{inputs}'
        "<button type=submit>Continue</button></form>"
        "<script>document.getElementById('result').submit()</script>",
    )


def index_page(
    issuer: str,
    org_issuer: str,
    apps: dict[str, str],
    users: list[str],
    *,
    presenter: bool = False,
) -> str:
    rows = "".join(
        f"<li><b>{escape(name)}</b>: <code>{escape(cid)}</code></li>" for name, cid in apps.items()
    )
    people = "".join(f"<li>{escape(mask_email(u) if presenter else u)}</li>" for u in users)
    return _page(
        "Dev server",
        f"<h1>Okta-compatible dev server</h1>{_note(presenter)}"
        f"<p>Custom authorization server: <code>{escape(issuer)}</code></p>"
        f"<p>Org authorization server: <code>{escape(org_issuer)}</code></p>"
        f"<p>Apps (client IDs):</p><ul>{rows}</ul><p>Users:</p><ul>{people}</ul>"
        '<p><a href="/activate">Activate a device</a></p>',
    )
