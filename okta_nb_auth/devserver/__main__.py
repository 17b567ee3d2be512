"""``python -m okta_nb_auth.devserver``: the same as ``okta-nb-auth devserver``."""

import sys

from ._cli import main

sys.exit(main(sys.argv[1:]))
