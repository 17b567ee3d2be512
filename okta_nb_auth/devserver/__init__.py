"""An Okta-compatible authorization server for offline notebooks, tests and demos.

Start it with ``okta-nb-auth devserver``, ``python -m okta_nb_auth.devserver`` or, in Python,
``with DevServer(port=0) as dev: ...``. It needs the ``devserver`` extra (Starlette, uvicorn).
"""

from ._server import DevServer, DevServerError
from ._settings import AppSettings, SettingsError, UserSettings
from ._state import Event

__all__ = ["AppSettings", "DevServer", "DevServerError", "Event", "SettingsError", "UserSettings"]
