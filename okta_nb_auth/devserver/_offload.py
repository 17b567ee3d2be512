"""Token grants on worker threads while other requests wait: signing on more than one core.

A grant's cost is mostly its RS256 signatures, and ``cryptography`` releases the GIL while it
signs, so two grants can sign on two cores at once. The event loop runs one request at a time,
though: a grant signed on the loop's thread keeps every other request waiting. :class:`Offload`
hands a grant to a small thread pool when other requests are already waiting (uvicorn has
their tasks), so the loop reads, parses and answers them meanwhile; a grant with no one
waiting runs inline, because the hand-off to a thread and back costs more than it saves then.

The grants are safe on worker threads: the store is guarded by its lock (the ``DevServer``
controls already call it from other threads), and everything else they touch is read-only.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable, Sized
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["Offload"]

T = TypeVar("T")


def _workers() -> int:
    """One worker per core, at least two, at most four (signing is CPU-bound)."""
    return max(2, min(4, os.cpu_count() or 2))


class Offload:
    """Runs a call on a worker thread when more than one request is in progress.

    ``watch`` gives it the requests in progress (uvicorn's set of request tasks); until then,
    and after :meth:`close`, every call runs inline. The pool starts at the first hand-off.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or _workers()
        self._active: Sized = ()
        self._pool: ThreadPoolExecutor | None = None

    def watch(self, active: Sized) -> None:
        """Hand off while ``len(active) > 1``."""
        self._active = active

    async def run(self, call: Callable[..., T], *args: object) -> T:
        """``call(*args)``: inline, or on a worker thread when other requests wait."""
        if len(self._active) <= 1:
            return call(*args)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="okta-devserver-sign")
        context = contextvars.copy_context()
        task = functools.partial(context.run, call, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, task)

    def close(self) -> None:
        """Stop the worker threads (after the server stopped); later calls run inline."""
        pool, self._pool, self._active = self._pool, None, ()
        if pool is not None:
            pool.shutdown(wait=True)
