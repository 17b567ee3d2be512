"""Logging in: the device code flow and authorization code + PKCE, and what drives them.

* :mod:`._choose`: ``flow="auto"``, the device flow or PKCE from where the kernel runs;
* :mod:`._base`: what every flow shares (sending, discovery, waiting, verifying the ID token);
* :mod:`._device`: the device authorization grant (RFC 8628);
* :mod:`._pkce`: authorization code + PKCE, with :mod:`._listener` (the loopback listener);
* :mod:`._controller`: the login widget's state machine, without any UI;
* :mod:`._text`: what the widget and the terminal show;
* :mod:`._cli`: ``okta-nb-auth login | status | logout``.

The widget itself, the thin view over these, is :mod:`okta_nb_auth.widgets`.
"""

from __future__ import annotations

from ._base import LoginResult
from ._choose import FlowChoice, choose_flow
from ._controller import LoginController
from ._device import DeviceCode, PollStatus, device_login
from ._pkce import AuthCodeLogin, pkce_login

__all__ = [
    "AuthCodeLogin",
    "DeviceCode",
    "FlowChoice",
    "LoginController",
    "LoginResult",
    "PollStatus",
    "choose_flow",
    "device_login",
    "pkce_login",
]
