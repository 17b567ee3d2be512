"""The child's side of :class:`~okta_nb_auth.tutorial._kernel.Kernel`: run as
``python -m okta_nb_auth.tutorial._child``, it reads one JSON command per line on stdin, runs
its code in one persistent namespace and answers one JSON line on stdout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from typing import Any

__all__: list[str] = []


def _namespace(state: dict[str, float]) -> dict[str, Any]:
    import okta_nb_auth
    from okta_nb_auth import OktaConfig

    names: dict[str, Any] = {name: getattr(okta_nb_auth, name) for name in okta_nb_auth.__all__}
    names["config"] = OktaConfig.from_env()
    names["api"] = os.environ.get("OKTA_NB_AUTH_TUTORIAL_API", "")
    names["clock"] = lambda: time.time() + state["offset"]
    return names


def _serve() -> None:
    state = {"offset": 0.0}
    names = _namespace(state)
    for line in sys.stdin:
        command = json.loads(line)
        state["offset"] = float(command["offset"])
        out, error = io.StringIO(), None
        try:
            with contextlib.redirect_stdout(out):
                exec(command["code"], names)  # noqa: S102 - code from the parent notebook only
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"out": out.getvalue(), "error": error}), flush=True)


if __name__ == "__main__":
    _serve()
