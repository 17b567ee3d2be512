"""``python -m okta_nb_auth.hub``: the JupyterHub token service (run by the Hub)."""

from ._service import main

main()
