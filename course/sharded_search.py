"""Exact face search split into shards held by separate worker processes, on Dask distributed.

A gallery too big for one machine is cut into *shards*. Each shard lives in the memory of a
worker; a query *fans out* to every shard, each worker returns its own top k (with the
gallery-wide ids of its rows), and the client *merges* those lists into the global top k.
Because every shard is searched exactly, the merged answer equals exact search over the
whole gallery (:func:`course.search.exact_search`).

* :class:`LocalSearchCluster` starts a Dask ``LocalCluster`` of worker *processes* on this
  machine, with every setting that changes an outcome set explicitly, and always shuts it
  down (``with`` block, :meth:`~LocalSearchCluster.close`, or a finalizer when the object is
  dropped or Python exits). On a real cluster, connect with ``Client("tcp://HOST:8786")``
  instead; :class:`ShardedGallery` takes either.
* :class:`ShardedGallery` places the shards on the workers once (each on ``replication``
  workers) and runs the fan-out. Every wait has a timeout. When a shard does not answer
  (its workers died, or it is too slow), the search raises :class:`ShardsUnavailable`, or,
  if asked to (``allow_partial=True``), returns what the other shards found, flagged as
  partial, with the missing shards and the reason for each.
* :func:`search_shard` is the function the workers run; :func:`merge_top_k` is the merge.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys
import time
import weakref
from dataclasses import dataclass, field

import dask
import numpy as np
import psutil
from dask.sizeof import sizeof
from distributed import Client, LocalCluster, wait
from distributed.client import FuturesCancelledError
from numpy.typing import ArrayLike, NDArray

from .search import exact_search, squared_norms

#: Seconds a query may wait for its slowest shard before the shard counts as missing.
DEFAULT_TIMEOUT = 10.0
#: Seconds to start or stop the local cluster, or to see a closed worker leave it.
CLUSTER_TIMEOUT = 60.0
#: What each worker process sets before it starts: one thread for every numerical library,
#: so that a worker uses exactly the one core it was given (Dask's own default, made explicit).
WORKER_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Scheduler settings a sharded gallery needs (set them on a real cluster's scheduler too). By
#: default Dask moves and copies data to balance load: it would run a shard's search on an idle
#: worker by copying the shard there (work stealing), and drop the extra copies that
#: replication made (the active memory manager). Here a shard stays where it was placed.
SCHEDULER_SETTINGS = {
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.active-memory-manager.start": False,
}


# --- Shards and the work done on a worker ------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """A contiguous piece of the gallery: its vectors, their gallery-wide ids, their squared norms."""

    vectors: NDArray[np.float32]
    ids: NDArray[np.int64]
    sq_norms: NDArray[np.float32]

    @property
    def nbytes(self) -> int:
        """Memory held by the shard's arrays."""
        return self.vectors.nbytes + self.ids.nbytes + self.sq_norms.nbytes

    def __len__(self) -> int:
        return len(self.ids)

    def __setstate__(self, state: dict) -> None:
        # Arrays unpickled on a worker can sit at unaligned addresses inside the message
        # that carried them; BLAS then multiplies about 30 times slower (measured). One
        # aligned copy on arrival, once per shard, not per query.
        for name, array in state.items():
            object.__setattr__(self, name, np.require(array, requirements=["ALIGNED", "C_CONTIGUOUS"]))


@sizeof.register(Shard)
def _sizeof_shard(shard: Shard) -> int:
    """Let Dask count a shard's real size (its default for an unknown object is a few bytes)."""
    return shard.nbytes


def make_shards(gallery: ArrayLike, n_shards: int) -> list[Shard]:
    """Cut the gallery into ``n_shards`` contiguous pieces of (nearly) equal size.

    A row's id is its position in the whole gallery, so a shard's answer names gallery rows
    directly. A shard's vectors are a view of the gallery when it is already C-ordered
    float32 (no copy in this process; the copy that counts is the one sent to a worker).
    """
    gallery = np.asarray(gallery)
    if gallery.ndim != 2 or len(gallery) == 0:
        raise ValueError(f"the gallery must be a non-empty 2-D array of vectors, got shape {gallery.shape}")
    if not 1 <= n_shards <= len(gallery):
        raise ValueError(f"n_shards must be between 1 and the gallery size {len(gallery)}, got {n_shards}")
    bounds = np.linspace(0, len(gallery), n_shards + 1).round().astype(int)
    shards = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        vectors = np.ascontiguousarray(gallery[start:stop], dtype=np.float32)
        shards.append(Shard(vectors, np.arange(start, stop, dtype=np.int64), squared_norms(vectors)))
    return shards


@dataclass(frozen=True)
class ShardAnswer:
    """One shard's top k for every query, with gallery-wide ids and the seconds its search took."""

    distances: NDArray[np.float32]
    ids: NDArray[np.int64]
    seconds: float


def search_shard(shard: Shard, queries: NDArray[np.float32], k: int) -> ShardAnswer:
    """Exact top-k search of one shard; this is what a worker runs for every query.

    The shard's own row numbers are turned into gallery-wide ids before they leave the worker.
    A shard smaller than ``k`` returns all its rows.
    """
    start = time.perf_counter()
    distances, rows = exact_search(shard.vectors, queries, min(k, len(shard)), gallery_sq_norms=shard.sq_norms)
    return ShardAnswer(distances, shard.ids[rows], time.perf_counter() - start)


def merge_top_k(
    distances: list[ArrayLike], ids: list[ArrayLike], k: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Merge per-shard top-k lists (each (n_queries, k_shard)) into the global top k, nearest first.

    If the shards together hold fewer than ``k`` results, the missing slots hold distance
    ``inf`` and id ``-1`` (as in faiss).
    """
    if not distances or len(distances) != len(ids):
        raise ValueError("need one distances array and one ids array per shard, at least one shard")
    all_distances = np.hstack([np.atleast_2d(d) for d in distances])
    all_ids = np.hstack([np.atleast_2d(i) for i in ids]).astype(np.int64, copy=False)
    if all_distances.shape[1] < k:
        missing = k - all_distances.shape[1]
        all_distances = np.hstack([all_distances, np.full((len(all_distances), missing), np.inf, all_distances.dtype)])
        all_ids = np.hstack([all_ids, np.full((len(all_ids), missing), -1, np.int64)])
    order = np.argsort(all_distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(all_distances, order, 1), np.take_along_axis(all_ids, order, 1)


def peak_rss_bytes() -> int:
    """Peak resident memory of the process that calls it (run it on each worker with ``client.run``).

    On Linux this reads VmHWM: ``getrusage``'s ru_maxrss would also count the memory of the
    parent process at the moment it started this one (it survives the ``exec`` that starts a
    worker), overstating a worker's own peak by the whole notebook's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


# --- The local cluster ----------------------------------------------------------------------


def _shut_down(client: Client, cluster: LocalCluster) -> None:
    """Close the client, then the cluster and its worker processes (idempotent)."""
    try:
        client.close(timeout=CLUSTER_TIMEOUT)
    finally:
        cluster.close(timeout=CLUSTER_TIMEOUT)


class LocalSearchCluster:
    """A Dask cluster of worker processes on this machine, always shut down.

    Every setting that decides an outcome is explicit: ``n_workers`` processes of one thread
    each, one numerical-library thread per worker, no memory limit (so nothing is spilled to
    disk or paused), no dashboard (the scheduler's small HTTP endpoint listens on a free
    local port), and Dask's logging silenced so that nothing reaches the notebook's stderr.

    Use it in a ``with`` block, or call :meth:`close`; if neither happens (a cell failed, the
    object was dropped, the kernel is shutting down), a finalizer closes it.
    """

    def __init__(self, n_workers: int = 2, *, timeout: float = CLUSTER_TIMEOUT) -> None:
        if n_workers < 1:
            raise ValueError(f"need at least one worker, got {n_workers}")
        with dask.config.set(SCHEDULER_SETTINGS):
            self.cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,  # no dashboard...
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # ...its HTTP endpoint on a free port
                memory_limit=0,
                env=WORKER_ENVIRONMENT,
                silence_logs=logging.CRITICAL,
            )
        try:
            self.client = Client(self.cluster, timeout=timeout)
        except BaseException:
            self.cluster.close(timeout=timeout)
            raise
        self._finalizer = weakref.finalize(self, _shut_down, self.client, self.cluster)

    def __enter__(self) -> LocalSearchCluster:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the client, the scheduler and every worker process (safe to call twice)."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def workers(self) -> list[str]:
        """Addresses of the workers still running, in the order they were started."""
        alive = set(self.client.scheduler_info()["workers"])
        return [address for address in self._started_addresses() if address in alive]

    def _started_addresses(self) -> list[str]:
        return [nanny.worker_address for _, nanny in sorted(self.cluster.workers.items())]

    def worker_pids(self) -> dict[str, int]:
        """Process id of each running worker (to watch them, or check that none is left)."""
        return self.client.run(_own_pid, workers=self.workers())

    def stop_worker(self, address: str, *, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Stop one worker process abruptly, as if its machine failed: its data is not handed on.

        Returns once the scheduler has seen it leave (or raises ``TimeoutError``)."""
        names = [name for name, nanny in self.cluster.workers.items() if nanny.worker_address == address]
        if not names:
            raise ValueError(f"no worker at {address}; running: {self.workers()}")
        nanny = self.cluster.workers[names[0]]
        self.cluster.sync(nanny.close, callback_timeout=timeout)
        deadline = time.monotonic() + timeout
        while address in self.client.scheduler_info()["workers"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the scheduler still lists {address} {timeout} s after it was stopped")
            time.sleep(0.05)


def _own_pid() -> int:
    return os.getpid()


def still_running(pids: list[int]) -> list[int]:
    """The processes among ``pids`` that are still running (finished, unreaped ones do not count)."""
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            pass
    return running


# --- Sharded search over a cluster ---------------------------------------------------------


#: Why a shard gave no answer when no live worker holds its data.
LOST = "lost: no worker that held it is alive"


class ShardsUnavailable(RuntimeError):
    """Some shards gave no answer, and a partial answer was not allowed."""


@dataclass
class ShardedResult:
    """The merged answer of a fan-out, and how each shard did.

    Attributes:
        distances, ids: (n_queries, k) global top k, nearest first, from the shards that answered.
        answered: numbers of the shards that answered.
        missing: shard number -> why it gave no answer. Empty for a complete answer.
        shard_seconds: shard number -> seconds its search took on its worker.
        arrival_seconds: shard number -> seconds from the fan-out until its answer reached
            the client (search time, plus waiting in its worker's queue, plus the round trip).
        seconds: seconds from the fan-out until the merged answer (the query's latency).
    """

    distances: NDArray[np.float32]
    ids: NDArray[np.int64]
    answered: list[int]
    missing: dict[int, str] = field(default_factory=dict)
    shard_seconds: dict[int, float] = field(default_factory=dict)
    arrival_seconds: dict[int, float] = field(default_factory=dict)
    seconds: float = float("nan")

    @property
    def partial(self) -> bool:
        """True when some shards did not answer: faces held only by them cannot be among the results."""
        return bool(self.missing)


class ShardedGallery:
    """A gallery's shards placed on a Dask cluster's workers, searched by fan-out and merge.

    Shard ``i`` is sent once (``client.scatter``) to ``replication`` different workers,
    workers ``i, i + 1, ...`` (modulo their number); queries never carry the gallery.
    A replica costs a full copy of its shard's memory, and lets the shard answer when one
    of its workers is gone.
    """

    def __init__(self, client: Client, shards: list[Shard], *, replication: int = 1,
                 timeout: float = CLUSTER_TIMEOUT) -> None:
        workers = sorted(client.scheduler_info()["workers"], key=_started_order(client))
        if not shards:
            raise ValueError("need at least one shard")
        if not 1 <= replication <= len(workers):
            raise ValueError(f"replication must be between 1 and the number of workers ({len(workers)}), "
                             f"got {replication}")
        dims = {shard.vectors.shape[1] for shard in shards}
        if len(dims) != 1:
            raise ValueError(f"every shard must have vectors of the same dimension, got {sorted(dims)}")
        self.client = client
        self.dim = dims.pop()
        self.sizes = [len(shard) for shard in shards]
        self.shard_nbytes = [shard.nbytes for shard in shards]
        self.placement = {i: [workers[(i + j) % len(workers)] for j in range(replication)]
                          for i in range(len(shards))}
        self._futures = [
            client.scatter(shard, workers=self.placement[i], broadcast=True, hash=False, timeout=timeout)
            for i, shard in enumerate(shards)
        ]
        # Wait until every copy is in place, so that the placement is what the lesson shows.
        deadline = time.monotonic() + timeout
        while any(len(holders) < replication for holders in self.holders().values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the shards did not reach their {replication} workers within {timeout} s")
            time.sleep(0.05)

    @property
    def n_shards(self) -> int:
        return len(self._futures)

    def holders(self) -> dict[int, list[str]]:
        """Shard number -> the workers that hold a copy of it now."""
        alive = [future for future in self._futures if not future.cancelled()]
        who_has = self.client.who_has(alive) if alive else {}
        return {i: sorted(who_has.get(future.key, ())) for i, future in enumerate(self._futures)}

    def stored_bytes(self) -> dict[str, int]:
        """Worker -> bytes of shards it holds (copies included), as the scheduler counts them."""
        per_worker = dict.fromkeys(sorted(self.client.scheduler_info()["workers"], key=_started_order(self.client)), 0)
        for i, holders in self.holders().items():
            for worker in holders:
                per_worker[worker] += self.shard_nbytes[i]
        return per_worker

    def search(self, queries: ArrayLike, k: int, *, timeout: float = DEFAULT_TIMEOUT,
               allow_partial: bool = False) -> ShardedResult:
        """The ``k`` nearest gallery faces of every query: fan out to every shard, merge their top k.

        A shard that no live worker holds, whose search fails, or that has not answered
        ``timeout`` seconds after the fan-out counts as missing. Then this raises
        :class:`ShardsUnavailable`, unless ``allow_partial`` is true: the result is then
        built from the shards that answered and flagged ``partial`` (if none answered, it
        raises all the same).
        """
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must be vectors of dimension {self.dim}, got shape {queries.shape}")
        if not 1 <= k <= sum(self.sizes):
            raise ValueError(f"k must be between 1 and the gallery size {sum(self.sizes)}, got {k}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout}")
        start = time.perf_counter()
        missing: dict[int, str] = {}
        pending = {}
        for i, shard_future in enumerate(self._futures):
            if shard_future.status != "finished":
                missing[i] = LOST
            else:
                # Run where the shard already is: never copy a shard to answer a query.
                task = self.client.submit(search_shard, shard_future, queries, k, pure=False,
                                          workers=self.placement[i], allow_other_workers=False)
                pending[task] = i
        answers: dict[int, ShardAnswer] = {}
        arrival: dict[int, float] = {}
        running = dict(pending)
        while running:
            remaining = timeout - (time.perf_counter() - start)
            if remaining <= 0:
                break
            try:
                wait(list(running), timeout=remaining, return_when="FIRST_COMPLETED")
            except (TimeoutError, asyncio.TimeoutError):
                break
            except FuturesCancelledError:
                pass  # a shard's data was lost during the query: handled below like any finished future
            now = time.perf_counter() - start
            for future in [f for f in running if f.status != "pending"]:
                shard = running.pop(future)
                if future.status == "finished":
                    answers[shard] = future.result()
                    arrival[shard] = now
                elif future.status == "error":
                    missing[shard] = f"its search failed: {future.exception()!r}"
                else:
                    missing[shard] = LOST
        for future, shard in running.items():
            missing[shard] = f"no answer within the {timeout:g} s timeout"
            future.cancel()
        if missing and (not allow_partial or not answers):
            reasons = "; ".join(f"shard {i}: {why}" for i, why in sorted(missing.items()))
            raise ShardsUnavailable(f"{len(missing)} of {self.n_shards} shards did not answer ({reasons}). "
                                    + ("Pass allow_partial=True to get the other shards' results, flagged as "
                                       "partial." if answers else "No shard answered."))
        answered = sorted(answers)
        distances, ids = merge_top_k([answers[i].distances for i in answered], [answers[i].ids for i in answered], k)
        return ShardedResult(
            distances=distances, ids=ids, answered=answered, missing=dict(sorted(missing.items())),
            shard_seconds={i: answers[i].seconds for i in answered}, arrival_seconds=arrival,
            seconds=time.perf_counter() - start,
        )


def _started_order(client: Client):
    """Sort key for worker addresses: the order the workers were started in (their names)."""
    names = {address: str(info.get("name")) for address, info in client.scheduler_info()["workers"].items()}
    return lambda address: (len(names[address]), names[address])
