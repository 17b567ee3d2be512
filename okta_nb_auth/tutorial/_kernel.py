"""Another "kernel" for the tutorial: a separate Python process that shares the notebook's
token store, so a lesson can show a login surviving a restart, or two kernels sharing one.

The parent sends one JSON line per command (``{"offset": s, "code": "..."}``) on the child's
stdin; the child runs the code in one persistent namespace and answers one JSON line (what it
printed, and the error's type and message if it raised). ``offset`` keeps the child's
``clock`` on the dev server's fast-forwarded clock. Nothing listens on a socket: only the
parent that started the process can send it code. The child's side is :mod:`._child`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping

__all__ = ["Kernel", "run_everywhere"]


def _without_okta(environ: Mapping[str, str]) -> dict[str, str]:
    # The child gets exactly the issuer, app and store it is given: never another org's.
    return {k: v for k, v in environ.items() if not k.startswith("OKTA_")}


class Kernel:
    """A child Python process with ``config``, ``api``, ``clock`` and the package's names.

    ``offset``: how far the dev server's clock is ahead, read before each command.
    """

    def __init__(
        self, name: str, env: Mapping[str, str], offset: Callable[[], float] = lambda: 0.0
    ) -> None:
        self.name, self._offset = name, offset
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "okta_nb_auth.tutorial._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**_without_okta(os.environ), **env, "PYTHONUNBUFFERED": "1"},
        )

    def send(self, code: str) -> None:
        """Hand ``code`` to the child (it starts at once); :meth:`answer` reads its output."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"offset": self._offset(), "code": code}) + "\n")
        self._proc.stdin.flush()

    def answer(self) -> str:
        """What the last command printed; a failure reads ``ErrorType: message``."""
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            return f"[kernel {self.name} ended unexpectedly]"
        reply = json.loads(line)
        return str(reply["out"]) + (f"{reply['error']}\n" if reply["error"] else "")

    def run(self, code: str) -> str:
        """Run ``code`` in the child and return what it printed."""
        self.send(code)
        return self.answer()

    def close(self) -> None:
        """End the child (closing its stdin ends its loop)."""
        if self._proc.poll() is None and self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __repr__(self) -> str:
        alive = "running" if self._proc.poll() is None else "ended"
        return f"<Kernel {self.name}: a separate Python process, {alive}>"


def run_everywhere(kernels: Iterable[Kernel], code: str) -> list[str]:
    """Start ``code`` in every kernel before reading any answer, so they run at once."""
    chosen = list(kernels)
    for kernel in chosen:
        kernel.send(code)
    return [kernel.answer() for kernel in chosen]
