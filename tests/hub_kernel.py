"""Run code in a kernel of a JupyterHub single-user server, over jupyter-server's REST API.

A kernel is started with ``POST {server}/api/kernels``; code goes to it as an
``execute_request`` on the kernel's websocket (``/api/kernels/ID/channels``, Jupyter's JSON
message protocol), and what it prints on stdout comes back once the kernel reports idle for
that request. Every wait is bounded by ``timeout``; the kernel is shut down at the end.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import httpx
import websocket

__all__ = ["HubKernel", "KernelError"]


class KernelError(AssertionError):
    """The code raised in the kernel; the message has the exception's name and value."""


def _request(code: str, session: str) -> tuple[str, dict[str, Any]]:
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": "hub-harness",
        "session": session,
        "date": datetime.now(timezone.utc).isoformat(),
        "version": "5.3",
    }
    content = {
        "code": code,
        "silent": False,
        "store_history": False,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
    return msg_id, {**message, "channel": "shell", "buffers": []}


class HubKernel:
    """A kernel of the server at ``server_url`` (ending in ``/``), reached with ``token``."""

    def __init__(self, server_url: str, token: str, *, timeout: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=server_url, headers={"Authorization": f"token {token}"}, timeout=timeout
        )
        self._timeout = timeout
        self._session = uuid.uuid4().hex
        response = self._http.post("api/kernels", json={"name": "python3"})
        response.raise_for_status()
        self.kernel_id: str = response.json()["id"]
        ws_url = server_url.replace("http", "ws", 1) + f"api/kernels/{self.kernel_id}/channels"
        self._ws = websocket.create_connection(
            ws_url, header=[f"Authorization: token {token}"], timeout=timeout
        )

    def run(self, code: str) -> str:
        """Execute ``code``; its stdout, or :class:`KernelError` if it raised."""
        msg_id, message = _request(code, self._session)
        self._ws.send(json.dumps(message))
        out: list[str] = []
        while True:  # bounded: each recv times out after ``timeout`` seconds
            reply = json.loads(self._ws.recv())
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = reply["msg_type"], reply["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "error":
                raise KernelError(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)

    def run_json(self, code: str) -> Any:
        """Execute ``code``, which prints one JSON document as its last line; that document."""
        return json.loads(self.run(code).strip().splitlines()[-1])

    def close(self) -> None:
        try:
            self._ws.close()
            self._http.delete(f"api/kernels/{self.kernel_id}")
        finally:
            self._http.close()

    def __enter__(self) -> HubKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
