"""The place-name table's cost in a fresh interpreter: memory and time to build it.

    PYTHONPATH=$PWD python bench/bench_gazetteer.py

Imports ``actions.extraction.zones``, then builds the gazetteer and the zones' countries
(what a turn process's first turn does), and prints the time taken (wall and CPU) and the
process's RSS and PSS (/proc/self/smaps_rollup, Linux) before and after.
"""

from __future__ import annotations

import time
from pathlib import Path


def memory() -> dict[str, float]:
    """RSS and PSS of this process in MiB."""
    found: dict[str, float] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key, *values = line.split()
        if key in ("Rss:", "Pss:"):
            found[key[:-1]] = int(values[0]) / 1024
    return found


def main() -> None:
    from actions.extraction import zones

    before = memory()
    wall, cpu = time.perf_counter(), time.process_time()
    zones._gazetteer()
    zones._zone_countries()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = memory()
    sizes = (
        f"{kind} {before[kind]:.1f} -> {after[kind]:.1f} MiB (+{after[kind] - before[kind]:.1f})"
        for kind in ("Rss", "Pss")
    )
    print(f"built in {wall:.2f} s wall, {cpu:.2f} s CPU; " + "; ".join(sizes))


if __name__ == "__main__":
    main()
