"""JupyterHub: kernels borrow the signed-in user's Okta access token from the Hub.

On a Hub whose login is Okta (OAuthenticator's ``GenericOAuthenticator`` with
``enable_auth_state``), ``AuthSession.from_hub()`` is signed in with no flow: it borrows the
access token the Hub holds for the user through okta-nb-auth's token service (run by the Hub:
``python -m okta_nb_auth.hub``); the refresh token never leaves the Hub. See the README's
JupyterHub section for the Hub's configuration.
"""

from ._hubapi import SERVICE, HubAccess
from ._session import AsyncHubSession, HubSession, hub_access

__all__ = ["SERVICE", "AsyncHubSession", "HubAccess", "HubSession", "hub_access"]
