"""Hold a token store's refresh lock in a process of its own, for tests/test_store_files.py.

Usage: ``python store_lock_holder.py <lock path>``. It takes the lock the way the package does
(``filelock.FileLock``, not thread-local, mode 0600), prints ``locked`` once it holds it, then
keeps it until it is killed (or its stdin is closed). The tests synchronise on that line.
"""

from __future__ import annotations

import sys

import filelock


def main(path: str) -> None:
    lock = filelock.FileLock(path, mode=0o600, thread_local=False)
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.read()  # blocks until the test kills this process or closes the pipe
    lock.release()


if __name__ == "__main__":
    main(sys.argv[1])
