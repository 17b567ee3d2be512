"""Read another process's memory (``/proc/<pid>/mem``) and say which strings it holds.

Used to show that no refresh token, ID token or client secret ever reached a Dask worker:
the scan runs here, so the strings searched for are never sent to the process scanned. Its
heap, stacks and anonymous mappings are read: whatever it received, kept or freed without
overwriting. Reading needs ptrace rights over it: root, or its ancestor (a test process is
the ancestor of the cluster it started).
"""

from __future__ import annotations

__all__ = ["scan_process"]


def _regions(pid: int) -> list[tuple[int, int]]:
    regions = []
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            name = fields[5] if len(fields) > 5 else ""
            if fields[1].startswith("r") and (not name or name in ("[heap]", "[stack]")):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                regions.append((start, end))
    return regions


def scan_process(pid: int, needles: list[str]) -> set[str]:
    """Which of ``needles`` occur in the memory of process ``pid``."""
    wanted = {needle: needle.encode() for needle in needles}
    found: set[str] = set()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end in _regions(pid):
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):  # unmapped meanwhile, or guard pages
                continue
            found |= {needle for needle, raw in wanted.items() if raw in data}
    return found
