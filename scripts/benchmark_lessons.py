"""Time and memory of each lesson against its budget (<= 60 s and <= 1.5 GB on 2 cores).

Runs each notebook under strict nbval, as the test suite does, in its own process, and reports the
wall time and the peak memory of the whole process tree (the kernel and any worker processes a lesson
starts, such as lesson 03b's Dask workers), sampled from /proc every 0.1 s. Linux only.

    uv run python scripts/benchmark_lessons.py                 # every lesson
    uv run python scripts/benchmark_lessons.py 03b_sharded     # lessons whose file name contains the text

Run it on a quiet machine: the budget is for a learner's 2 cores, not for cores shared with other work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS, BUDGET_BYTES = 60, 1.5e9


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        found = []
        for task in tasks:
            found += [int(c) for c in (task / "children").read_text().split()]
        return found
    except OSError:
        return []


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        stack += _children(current)
    return total


def run(notebook: Path) -> tuple[float, int, bool]:
    """Wall seconds, peak tree memory in bytes, and whether strict nbval passed."""
    start = time.perf_counter()
    # -n 0: one lesson in one process, as a learner runs it (the suite's two xdist workers would add one).
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-n", "0", str(notebook)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        print(output[-3000:])
    return time.perf_counter() - start, peak, process.returncode == 0


def main(patterns: list[str]) -> int:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    if patterns:
        notebooks = [n for n in notebooks if any(p in n.name for p in patterns)]
    print(f"{os.cpu_count()} cores; budget per lesson {BUDGET_SECONDS} s and {BUDGET_BYTES / 1e9:.1f} GB")
    print(f"{'lesson':<34}{'wall':>8}{'peak memory':>14}  verdict")
    ok = True
    for notebook in notebooks:
        seconds, peak, passed = run(notebook)
        within = passed and seconds <= BUDGET_SECONDS and peak <= BUDGET_BYTES
        ok &= within
        verdict = "ok" if within else ("nbval FAILED" if not passed else "over budget")
        print(f"{notebook.stem:<34}{seconds:>7.1f}s{peak / 1e9:>12.2f} GB  {verdict}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
