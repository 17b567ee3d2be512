"""A ``jupyterhub_config.py`` for a Hub whose users sign in with Okta and whose kernels call
Okta-protected APIs with okta-nb-auth: no second login, and the refresh token stays in the Hub.

Copy it (``python -c "import okta_nb_auth.hub as h, os; print(os.path.dirname(h.__file__))"``
shows where it is) or load it from your own config with ``load_subconfig(path)``, then add
your spawner, proxy and storage settings. Needs, in the Hub's environment:
``pip install jupyterhub oauthenticator okta-nb-auth``, and

* ``OKTA_ISSUER``: the authorization server, e.g. ``https://YOUR_ORG.okta.com/oauth2/default``
  (its endpoints are read from its discovery document, never guessed);
* ``OKTA_CLIENT_ID`` / ``OKTA_CLIENT_SECRET``: the Hub's Okta app, a Web app with the
  Authorization Code **and Refresh Token** grants allowed (the article's step 1) and the
  sign-in redirect URI ``OKTA_HUB_URL + /hub/oauth_callback``;
* ``OKTA_HUB_URL``: the Hub's public URL, e.g. ``https://hub.example.org``;
* ``JUPYTERHUB_CRYPT_KEY``: ``openssl rand -hex 32`` (``auth_state`` is kept encrypted).
"""

import os
import sys

import httpx

c = get_config()  # type: ignore[name-defined]  # noqa: F821

issuer = os.environ["OKTA_ISSUER"].rstrip("/")
meta = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=30)
meta.raise_for_status()
endpoints = meta.json()

# Okta sign-in (OAuthenticator 17 has no issuer discovery: the endpoints come from it here).
c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.client_id = os.environ["OKTA_CLIENT_ID"]
c.GenericOAuthenticator.client_secret = os.environ["OKTA_CLIENT_SECRET"]
c.GenericOAuthenticator.basic_auth = True  # client_secret_basic, Okta's default for Web apps
c.GenericOAuthenticator.authorize_url = endpoints["authorization_endpoint"]
c.GenericOAuthenticator.token_url = endpoints["token_endpoint"]
c.GenericOAuthenticator.userdata_url = endpoints["userinfo_endpoint"]
hub_url = os.environ["OKTA_HUB_URL"].rstrip("/")
c.GenericOAuthenticator.oauth_callback_url = f"{hub_url}/hub/oauth_callback"
# offline_access: without a refresh token the Hub cannot keep the login fresh (step 2).
c.GenericOAuthenticator.scope = ["openid", "profile", "email", "offline_access"]
c.GenericOAuthenticator.username_claim = "preferred_username"
c.GenericOAuthenticator.allow_all = True  # who may sign in is decided by Okta app assignment

# Keep the Okta tokens (encrypted) and keep them fresh: the Hub refreshes an expired access
# token with the refresh token when the user's next request comes after auth_refresh_age s.
c.GenericOAuthenticator.enable_auth_state = True
c.GenericOAuthenticator.auth_refresh_age = 60
c.GenericOAuthenticator.refresh_pre_spawn = True

# okta-nb-auth's token service: lends each user their own access token, nothing else.
SERVICE = "okta-tokens"
c.JupyterHub.services = [
    {
        "name": SERVICE,
        "command": [sys.executable, "-m", "okta_nb_auth.hub"],
        "url": "http://127.0.0.1:10101",
    }
]
# What each may do: the service reads auth_state; servers (and the users they act for: a
# server's token holds only scopes its user has too) find and call the service, nothing more.
USE_SERVICE = [f"read:services!service={SERVICE}", f"access:services!service={SERVICE}"]
c.JupyterHub.load_roles = [
    {"name": SERVICE, "services": [SERVICE], "scopes": ["admin:auth_state", "read:users:name"]},
    {"name": "user", "scopes": ["self", *USE_SERVICE]},
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server", *USE_SERVICE]},
]
