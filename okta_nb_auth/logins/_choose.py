"""``flow="auto"``: pick the device flow or the loopback PKCE flow from where the kernel runs.

The loopback redirect only works when the browser and the kernel share a computer: the
browser must reach ``127.0.0.1`` *of the kernel*. On JupyterHub, a cloud notebook, over SSH
or in a VS Code remote or container, it cannot, so the device flow is chosen; it is also the
answer whenever we are unsure. The choice comes with a reason a person can read.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .._config import DEV_REDIRECT_URI, REDIRECT_URI_ENV, OktaConfig
from .._exceptions import ConfigError
from ._listener import loopback_port

__all__ = ["FLOWS", "FlowChoice", "choose_flow", "local_browser"]

FLOWS = ("auto", "device", "pkce")

#: Environment variables that mean "the kernel is not on the learner's computer".
REMOTE_MARKERS: tuple[tuple[str, str], ...] = (
    ("JUPYTERHUB_API_URL", "the kernel runs on JupyterHub"),
    ("JUPYTERHUB_USER", "the kernel runs on JupyterHub"),
    ("COLAB_RELEASE_TAG", "the kernel runs on Google Colab"),
    ("KAGGLE_KERNEL_RUN_TYPE", "the kernel runs on Kaggle"),
    ("DATABRICKS_RUNTIME_VERSION", "the kernel runs on Databricks"),
    ("SM_CURRENT_HOST", "the kernel runs on Amazon SageMaker"),
    ("CODESPACES", "the kernel runs in GitHub Codespaces"),
    ("REMOTE_CONTAINERS", "the kernel runs in a VS Code dev container"),
    ("VSCODE_REMOTE_CONTAINERS_SESSION", "the kernel runs in a VS Code dev container"),
    ("VSCODE_AGENT_FOLDER", "the kernel runs on a VS Code remote server"),
    ("SSH_CONNECTION", "the kernel runs on a computer you reached over SSH"),
    ("SSH_CLIENT", "the kernel runs on a computer you reached over SSH"),
)


@dataclass(frozen=True)
class FlowChoice:
    """The flow to use (``device`` or ``pkce``) and why, in words."""

    flow: str
    reason: str


def local_browser(environ: Mapping[str, str] | None = None) -> bool:
    """True when a graphical web browser can be opened from this process."""
    env = os.environ if environ is None else environ
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return False  # text browsers (lynx, w3m) cannot run an Okta sign-in page
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def choose_flow(
    config: OktaConfig,
    flow: str = "auto",
    *,
    environ: Mapping[str, str] | None = None,
    has_browser: Callable[[], bool] | None = None,
) -> FlowChoice:
    """Resolve ``flow`` (``auto``, ``device`` or ``pkce``) to a :class:`FlowChoice`."""
    if flow not in FLOWS:
        raise ConfigError(f"flow must be one of {', '.join(map(repr, FLOWS))}, not {flow!r}.")
    if flow == "device":
        return FlowChoice("device", "you asked for the device flow")
    if flow == "pkce":
        problem = redirect_problem(config.redirect_uri)
        if problem is not None:
            raise ConfigError(
                f"flow='pkce' needs a loopback redirect URI, but {problem}. Set "
                f"{REDIRECT_URI_ENV} (or OktaConfig(redirect_uri=...)) to a Sign-in redirect URI "
                f"of the Okta app, such as {DEV_REDIRECT_URI!r}, or use flow='device'."
            )
        return FlowChoice("pkce", "you asked for the browser (PKCE) flow")
    env = os.environ if environ is None else environ
    for name, where in REMOTE_MARKERS:
        if env.get(name):
            return FlowChoice(
                "device", f"{where} ({name} is set), so a redirect to localhost cannot reach it"
            )
    problem = redirect_problem(config.redirect_uri)
    if problem is not None:
        return FlowChoice("device", f"{problem}, so the browser flow has nowhere to return to")
    found = has_browser() if has_browser is not None else local_browser(env)
    if not found:
        return FlowChoice("device", "no web browser can be opened on the computer of the kernel")
    return FlowChoice(
        "pkce", "the kernel runs on this computer, which has a web browser for the sign-in page"
    )


def redirect_problem(redirect_uri: str | None) -> str | None:
    """Why ``redirect_uri`` cannot bring a browser login back to this kernel, or None."""
    if not redirect_uri:
        return f"{REDIRECT_URI_ENV} is not set (or redirect_uri=... in OktaConfig)"
    try:
        loopback_port(redirect_uri)
    except ConfigError:
        return (
            f"the redirect URI {redirect_uri!r} is not a loopback address with a port "
            "(http://127.0.0.1:PORT/…), where the kernel could listen"
        )
    return None
