"""The benchmark scripts still run and still print every figure their issues ask for.

They are measurements, not tests: here they run on tiny inputs only, so that a change to
``course`` cannot silently break them. The figures themselves are not checked.
"""

import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def run_script(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_face_benchmark_prints_every_quality_figure():
    out = run_script("benchmark_faces.py", "--identities", "3", "--per-identity", "3", "--cnn-sample", "2")
    for label in ["render time", "HOG detection rate", "CNN detection rate", "ROC AUC", "EER ",
                  "EER threshold", "rank-1 identification", "mean same-identity dist",
                  "mean different-identity dist"]:
        assert re.search(rf"^{label}\s*.*\d", out, re.MULTILINE), f"no figure for {label!r}:\n{out}"


def test_search_benchmark_prints_every_index_and_the_bandwidth_verdict():
    out = run_script("benchmark_search.py", "--n", "20000", "--queries", "10")
    assert re.search(r"best is [\d.]+x the bound.*\[target <= 1\.3x: (met|NOT met)\]", out), out
    assert re.search(r"exact search: [01]\.\d\d$", out, re.MULTILINE), out
    for index, n_settings in [("course LSH 12 bits", 3), ("course LSH 16 bits", 3), ("course IVFIndex", 4),
                              ("faiss IVFFlat", 4), ("faiss HNSWFlat", 4), ("faiss IVFPQ ", 4), ("faiss IVFPQ+rerank", 4)]:
        rows = re.findall(rf"^  {re.escape(index)}\s+\w+=\d+\s+[\d.]+\s+[\d.]+x\s+[01]\.\d{{3}}\s+[01]\.\d\d\b",
                          out, re.MULTILINE)
        assert len(rows) >= n_settings, f"{index!r}: expected a sweep of settings with a right-person rate, got {rows}\n{out}"
    assert "Peak RSS" in out


def test_search_benchmark_prints_the_sharded_figures():
    out = run_script("benchmark_search.py", "--n", "20000", "--queries", "10", "--sharded-only")
    shards = re.findall(r"^  shard \d search on its worker: p50 [\d.]+ ms, p99 [\d.]+ ms$", out, re.MULTILINE)
    assert len(shards) == 4, out
    assert re.search(r"^  query latency \(fan-out and merge\): p50 [\d.]+ ms, p99 [\d.]+ ms, tail/median [\d.]+$",
                     out, re.MULTILINE), out
    assert re.search(r"^  fan-out overhead ratio \(fan-out p50 / in-process p50\): [\d.]+$", out, re.MULTILINE), out
    assert "Exact search in numpy" not in out, "--sharded-only measures only the sharded figures"


def test_lesson_benchmark_counts_the_memory_of_child_processes():
    """Lesson 03b's workers are child processes: the budget counts the whole tree, not the largest process."""
    import importlib.util
    import os
    import time

    spec = importlib.util.spec_from_file_location("benchmark_lessons", SCRIPTS / "benchmark_lessons.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    before = bench._tree_rss(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(300_000_000); time.sleep(20)"])
    try:
        deadline = time.time() + 15
        while bench._tree_rss(os.getpid()) < before + 250_000_000 and time.time() < deadline:
            time.sleep(0.2)
        assert bench._tree_rss(os.getpid()) >= before + 250_000_000
    finally:
        child.kill()
        child.wait()


def test_defences_benchmark_prints_every_cloaking_figure():
    out = run_script("benchmark_defences.py", "--part", "cloak", "--people", "1", "--queries", "3", "--budget", "8",
                     "--repeats", "1")
    for label in ["match rate, clean photo", "match rate, cloaked photo", "match rate, random pattern",
                  "match rate, cloaked photo, chip blurred", "match rate, cloaked photo, chip JPEG", "SSIM median",
                  "queries median"]:
        assert re.search(rf"^{label}.*\d", out, re.MULTILINE), f"no figure for {label!r}:\n{out}"
