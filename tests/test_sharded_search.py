"""Sharded search on Dask distributed: exact, honest about missing shards, never hanging, never leaking processes.

One small cluster (2 worker processes) serves most tests; the tests that stop a worker or check the
shutdown start their own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.search import exact_search
from course.sharded_search import (
    LOST,
    LocalSearchCluster,
    ShardedGallery,
    ShardsUnavailable,
    make_shards,
    merge_top_k,
    still_running,
)

ROOT = Path(__file__).resolve().parents[1]
DIM = 16


def _gallery(seed: int, n: int, n_queries: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, DIM), dtype=np.float32), rng.standard_normal((n_queries, DIM), dtype=np.float32)


def _wait_until_gone(pids: list[int], seconds: float = 30.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while still_running(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return still_running(pids)


@pytest.fixture(scope="module")
def cluster():
    with LocalSearchCluster(n_workers=2) as running:
        yield running


# ---------------------------------------------------------------- exact, whatever the split


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), n_shards=st.integers(1, 6),
       k=st.integers(1, 12), replication=st.integers(1, 2))
def test_sharded_search_equals_exact_search(cluster, seed, n, n_shards, k, replication):
    gallery, queries = _gallery(seed, n)
    n_shards, k = min(n_shards, n), min(k, n)
    sharded = ShardedGallery(cluster.client, make_shards(gallery, n_shards), replication=replication)
    result = sharded.search(queries, k)
    distances, ids = exact_search(gallery, queries, k)
    assert not result.partial and result.answered == list(range(n_shards))
    np.testing.assert_array_equal(result.ids, ids)
    np.testing.assert_allclose(result.distances, distances, rtol=0, atol=1e-5)


def test_shards_are_placed_once_and_replicas_cost_a_full_copy(cluster):
    gallery, _ = _gallery(0, 1000)
    shards = make_shards(gallery, 4)
    single = ShardedGallery(cluster.client, shards, replication=1)
    workers = cluster.workers()
    assert single.holders() == {0: [workers[0]], 1: [workers[1]], 2: [workers[0]], 3: [workers[1]]}
    one_copy = sum(shard.nbytes for shard in shards)
    assert sum(single.stored_bytes().values()) == one_copy
    double = ShardedGallery(cluster.client, shards, replication=2)
    assert all(holders == sorted(workers) for holders in double.holders().values())
    assert sum(double.stored_bytes().values()) == 2 * one_copy
    # Queries never move a shard: after many searches, each shard is still only where it was put.
    for _ in range(20):
        single.search(gallery[:2], 5)
    assert single.holders() == {0: [workers[0]], 1: [workers[1]], 2: [workers[0]], 3: [workers[1]]}


def test_make_shards_keeps_gallery_ids_and_views():
    gallery, _ = _gallery(1, 10)
    shards = make_shards(gallery, 3)
    assert [shard.ids.tolist() for shard in shards] == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
    assert all(np.shares_memory(shard.vectors, gallery) for shard in shards)
    with pytest.raises(ValueError, match="n_shards"):
        make_shards(gallery, 11)
    with pytest.raises(ValueError, match="2-D"):
        make_shards(gallery[0], 1)


def test_merge_pads_when_the_shards_hold_fewer_than_k():
    distances, ids = merge_top_k([np.array([[0.5, 0.7]]), np.array([[0.1]])], [np.array([[4, 5]]), np.array([[9]])], 5)
    assert ids.tolist() == [[9, 4, 5, -1, -1]]
    assert distances[0, :3].tolist() == pytest.approx([0.1, 0.5, 0.7]) and np.isinf(distances[0, 3:]).all()


def test_bad_queries_get_a_clear_error(cluster):
    gallery, _ = _gallery(2, 50)
    sharded = ShardedGallery(cluster.client, make_shards(gallery, 2))
    with pytest.raises(ValueError, match="dimension 16"):
        sharded.search(np.zeros((1, 8)), 3)
    with pytest.raises(ValueError, match="k must be between 1 and the gallery size 50"):
        sharded.search(gallery[:1], 51)
    with pytest.raises(ValueError, match="replication must be between 1 and the number of workers"):
        ShardedGallery(cluster.client, make_shards(gallery, 2), replication=3)


# ---------------------------------------------------------------- a slow or dead worker


def test_a_busy_worker_makes_the_query_give_up_within_its_timeout(cluster):
    gallery, queries = _gallery(3, 200)
    sharded = ShardedGallery(cluster.client, make_shards(gallery, 2))  # shard 0 on worker 0, shard 1 on worker 1
    busy = cluster.client.submit(time.sleep, 3, workers=[cluster.workers()[0]], pure=False)
    start = time.monotonic()
    with pytest.raises(ShardsUnavailable, match=r"shard 0: no answer within the 0.5 s timeout"):
        sharded.search(queries, 5, timeout=0.5)
    partial = sharded.search(queries, 5, timeout=0.5, allow_partial=True)
    assert time.monotonic() - start < 2.5, "each search must return soon after its 0.5 s timeout"
    assert partial.partial and partial.answered == [1] and list(partial.missing) == [0]
    shard_1 = exact_search(gallery[100:], queries, 5)[1] + 100
    np.testing.assert_array_equal(partial.ids, shard_1)
    busy.result(timeout=30)
    assert not sharded.search(queries, 5).partial  # the worker answers again once it is free


def test_a_dead_worker_without_replicas_gives_an_error_or_a_flagged_partial_answer():
    gallery, queries = _gallery(4, 400)
    with LocalSearchCluster(n_workers=2) as cluster:
        single = ShardedGallery(cluster.client, make_shards(gallery, 4), replication=1)
        double = ShardedGallery(cluster.client, make_shards(gallery, 4), replication=2)
        cluster.stop_worker(cluster.workers()[0])
        start = time.monotonic()
        with pytest.raises(ShardsUnavailable, match=r"2 of 4 shards did not answer \(shard 0: lost.*shard 2: lost"):
            single.search(queries, 5)
        partial = single.search(queries, 5, allow_partial=True)
        assert time.monotonic() - start < 5
        assert partial.partial and partial.answered == [1, 3] and partial.missing == {0: LOST, 2: LOST}
        surviving_rows = np.r_[100:200, 300:400]
        expected = surviving_rows[exact_search(gallery[surviving_rows], queries, 5)[1]]
        np.testing.assert_array_equal(partial.ids, expected)
        # With a replica of every shard on the surviving worker, the answer stays complete and exact.
        complete = double.search(queries, 5)
        assert not complete.partial
        np.testing.assert_array_equal(complete.ids, exact_search(gallery, queries, 5)[1])
        # When every copy is gone, even a partial answer is refused.
        cluster.stop_worker(cluster.workers()[0])
        with pytest.raises(ShardsUnavailable, match="4 of 4 shards did not answer.*No shard answered"):
            double.search(queries, 5, allow_partial=True)


# ---------------------------------------------------------------- always shut down


def test_with_block_shuts_down_every_worker_process_even_on_error():
    with pytest.raises(RuntimeError, match="a cell failed"):
        with LocalSearchCluster(n_workers=1) as cluster:
            pids = list(cluster.worker_pids().values())
            assert len(still_running(pids)) == 1
            raise RuntimeError("a cell failed")
    assert cluster.closed
    assert _wait_until_gone(pids) == []


def test_an_uncaught_error_still_shuts_the_cluster_down_when_python_exits():
    """Like a notebook whose cell fails and whose kernel is then shut down: nothing calls close()."""
    script = textwrap.dedent("""
        from course.sharded_search import LocalSearchCluster
        if __name__ == "__main__":
            cluster = LocalSearchCluster(n_workers=1)
            print(*cluster.worker_pids().values(), flush=True)
            raise RuntimeError("a cell failed")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "RuntimeError: a cell failed" in result.stderr
    pids = [int(pid) for pid in result.stdout.split()]
    assert len(pids) == 1
    assert _wait_until_gone(pids) == []


def test_dropping_the_object_shuts_the_cluster_down():
    cluster = LocalSearchCluster(n_workers=1)
    pids = list(cluster.worker_pids().values())
    del cluster  # e.g. the notebook cell that made it is run again, rebinding the name
    assert _wait_until_gone(pids) == []


def test_a_failed_notebook_cell_leaves_no_worker_process_once_the_kernel_stops():
    """The lesson's situation exactly: a kernel starts the cluster, a later cell fails, the kernel is shut down."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from course.sharded_search import LocalSearchCluster\n"
                                  "cluster = LocalSearchCluster(n_workers=1)\n"
                                  "print(*cluster.worker_pids().values())"),
        nbformat.v4.new_code_cell("raise RuntimeError('a cell failed')"),
    ]
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # starts the kernel, runs both cells, shuts the kernel down
    pids = [int(pid) for pid in notebook.cells[0].outputs[0]["text"].split()]
    assert notebook.cells[1].outputs[0]["ename"] == "RuntimeError"
    assert len(pids) == 1
    assert _wait_until_gone(pids) == []
