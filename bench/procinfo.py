"""What the benchmarks read about processes: memory from /proc, a process's children, a free loopback port."""

from __future__ import annotations

import socket
from pathlib import Path


def status_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """One memory line of /proc/PID/status (VmRSS: resident now, VmHWM: its peak), in MiB; 0 if gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(f"{field}:")), 0.0)


def smaps_mib(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) of a process, in MiB."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1])
    uss = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {"rss": values["Rss"] / 1024, "pss": values["Pss"] / 1024, "uss": uss / 1024}


def children(pid: int, workers_only: bool = False) -> list[int]:
    """The child processes of `pid` (of all its threads); `workers_only`: just the ones multiprocessing spawned
    (uvicorn's workers; its other child is the resource tracker)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return []
    if workers_only:
        found = [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
