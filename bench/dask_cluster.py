"""What ``bench_dask``'s figures share: a LocalCluster, a session lending to it, counts."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import cloudpickle
import dask_bench_tasks
from benchkit import Admin
from distributed import Client, LocalCluster

from okta_nb_auth import AuthSession, TokenSet

__all__ = [
    "EXPIRY_LOGIN",
    "THREADS",
    "THROUGHPUT_LOGIN",
    "broker_messages",
    "cluster",
    "failures",
    "lent",
    "worker_count",
]

cloudpickle.register_pickle_by_value(dask_bench_tasks)  # workers cannot import bench/

THREADS = 2  # per worker process
# Figures 1 and 3 on an app of their own (3600 s tokens), figure 2 on "native" (2 s tokens).
THROUGHPUT_LOGIN = ("web", "ada@example.com")
EXPIRY_LOGIN = ("native", "grace@example.com")


@contextmanager
def cluster(workers: int) -> Iterator[Client]:
    """A LocalCluster of ``workers`` processes and its client, both closed on the way out."""
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=THREADS,
            processes=True,
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,
    ):
        yield client


def worker_count(client: Client) -> int:
    return len(client.scheduler_info()["workers"])


@contextmanager
def lent(admin: Admin, client: Client, login: tuple[str, str]) -> Iterator[tuple[AuthSession, Any]]:
    """A session logged in to ``login`` (app, user) and its DaskAuth; the broker closed on
    the way out. One app per figure: two sessions built from tokens share a broker id when
    the app is the same (the id's user comes from verified ID-token claims, absent here)."""
    app, user = login
    tokens = TokenSet.from_response(admin.login(app, user))
    with AuthSession(admin.config(app), tokens) as session:
        auth = session.for_dask(client)
        try:
            yield session, auth
        finally:
            auth.broker.close()


def broker_messages(auth: Any) -> int:
    """Messages the notebook's broker handled: asks answered plus parcels delivered."""
    broker = auth.broker
    return int(broker.lending.answers + broker.deliveries)


def failures(answers: list[dict[str, Any]]) -> Counter[str]:
    """Why the tasks' requests failed (statuses or error types), counted."""
    failed: Counter[str] = Counter()
    for answer in answers:
        failed.update(answer["failures"])
    return failed
