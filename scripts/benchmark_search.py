"""Benchmark 1:N face search on a million faces: exact search and approximate indexes.

Prints figures next to their targets (it asserts nothing, and is not a test):

* exact search in numpy (course.search.exact_search): the latency of one query, and
  the bandwidth it implies (bytes scanned / time), against this machine's memory read
  bandwidth measured here. Target: within 1.3x of the bandwidth bound.
  Batched (100 queries at once) throughput too, and faiss IndexFlatL2 for reference.
* approximate indexes: random-hyperplane LSH (course.search.RandomHyperplaneLSH, the
  historical baseline), the course's IVFIndex, and faiss IndexIVFFlat, IndexHNSWFlat,
  IndexIVFPQ and a production-style IVF-PQ (4-bit "fast-scan" codes over 4096 lists)
  that re-ranks its shortlist with the exact vectors, each over a sweep of its search
  parameter: recall@10 against the exact result, speed-up over exact numpy search
  (both timed on the same batch of queries), and the share of queries whose own person
  is returned first (rank-1 identification; exact search's own share is printed too).
  Target: recall@10 >= 0.95 at >= 20x faster than exact.
* sharded exact search on Dask distributed (course.sharded_search, lesson 03b): the
  first 400,000 faces in 4 shards on 2 worker processes of one thread each, queries
  sent one at a time. Per-shard search time (p50, p99), the query's latency (p50, p99,
  and tail/median = p99/p50), in-process exact search of the same faces, and the
  fan-out overhead ratio (fan-out p50 / in-process p50). No target: lesson 03b reports
  them. ``--sharded-only`` measures just these (quick).

The gallery is 1,000,000 x 128 float32 embeddings from course.search.synthetic_gallery
(200,000 identities x 5 photos), its parameters calibrated on the real dlib embeddings
of data/synthetic-people. The queries are held-out photos of enrolled identities.
Takes about 4 minutes on 2 idle cores (far longer if other work shares them; the
load average is printed), peaking near 2 GB of memory.

    uv run python scripts/benchmark_search.py [--n 1000000] [--queries 100] [--sharded-only]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

from course import data
from course.search import (
    GalleryModel,
    IVFIndex,
    RandomHyperplaneLSH,
    calibrate_gallery_model,
    exact_search,
    recall_at_k,
    right_person_rate,
    squared_norms,
    synthetic_gallery,
)
from course.sharded_search import LocalSearchCluster, ShardedGallery, make_shards

K = 10
N_LISTS = 1024  # ~sqrt(n) cells for the IVF indexes
TRAIN_SIZE = 50_000  # k-means training sample: ~50 vectors per cell
PHOTOS_PER_IDENTITY = 5
HNSW_NEIGHBOURS = 16  # M: graph links per node (more: better graph, slower build)
PQ_SUBQUANTISERS = 16  # IVFPQ code: 16 sub-vectors of 8 dimensions, 1 byte each
LSH_BITS = [12, 16]  # bits per LSH table (8 bits flood a million-face bucket: ~17 % of the gallery at 32 tables)
LSH_TABLES = [4, 16, 32]
# Re-ranked IVF-PQ: finer cells, 64 sub-vectors of 2 dimensions with 4-bit codes (fast
# to scan with SIMD), and a shortlist of RERANK_FACTOR x k re-scored with exact vectors.
RERANK_FACTORY = "IVF4096,PQ64x4fs,RFlat"
RERANK_TRAIN_SIZE = 200_000  # ~50 vectors per cell again
RERANK_FACTOR = 10
TARGET_BANDWIDTH_RATIO = 1.3
TARGET_RECALL = 0.95
TARGET_SPEEDUP = 20.0
SHARDS = 4  # lesson 03b: 4 shards of up to 100,000 faces on 2 worker processes
SHARDED_FACES = 400_000
SHARDED_WORKERS = 2

Result = TypeVar("Result")


def timed(function: Callable[[], Result], repeats: int = 1) -> tuple[Result, float]:
    """Run ``function`` ``repeats`` times; return its result and the best time in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return result, best


def read_bandwidth(array: np.ndarray, n_threads: int) -> float:
    """This machine's memory read bandwidth in bytes/s: the best of summing ``array``
    on one thread and on ``n_threads`` threads (each summing a slice; NumPy releases
    the GIL while it sums), best of 5 runs each."""
    slices = np.array_split(array, n_threads)
    with ThreadPoolExecutor(n_threads) as pool:
        _, one_thread = timed(lambda: array.sum(axis=0, dtype=np.float32), repeats=5)
        _, all_threads = timed(
            lambda: list(pool.map(lambda part: part.sum(axis=0, dtype=np.float32), slices)),
            repeats=5,
        )
    print(f"Memory read bandwidth (summing the gallery): 1 thread "
          f"{array.nbytes / one_thread / 1e9:.1f} GB/s, {n_threads} threads "
          f"{array.nbytes / all_threads / 1e9:.1f} GB/s")
    return array.nbytes / min(one_thread, all_threads)


def gallery_and_queries(
    model: GalleryModel, n: int, n_queries: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A synthetic gallery of n faces, one held-out photo each of n_queries enrolled people, and the person
    in each gallery row and each query: ``(gallery, queries, gallery_people, query_people)``."""
    n_identities = (n + n_queries) // PHOTOS_PER_IDENTITY
    embeddings, identities = synthetic_gallery(
        n + n_queries, n_identities=n_identities, **vars(model), seed=seed
    )
    # Swap the first photo of n_queries random identities with the last n_queries rows.
    first_photos = np.searchsorted(identities, np.arange(n_identities))
    rng = np.random.default_rng(seed)
    query_rows = rng.choice(first_photos[first_photos < n], n_queries, replace=False)
    tail = np.arange(n, n + n_queries)
    embeddings[np.r_[query_rows, tail]] = embeddings[np.r_[tail, query_rows]]
    identities[np.r_[query_rows, tail]] = identities[np.r_[tail, query_rows]]
    return embeddings[:n], embeddings[n:].copy(), identities[:n], identities[n:].copy()


def benchmark_exact(
    gallery: np.ndarray, queries: np.ndarray, n_threads: int
) -> tuple[np.ndarray, float]:
    """Time exact search; return the true neighbours and the batched seconds per query."""
    bandwidth = read_bandwidth(gallery, n_threads)
    norms, seconds = timed(lambda: squared_norms(gallery))
    print(f"Precomputed squared norms of the gallery in {seconds * 1e3:.0f} ms")

    bytes_per_query = gallery.nbytes + norms.nbytes
    one_at_a_time = [
        timed(lambda: exact_search(gallery, query, K, gallery_sq_norms=norms))[1]
        for query in queries[:20]
    ]
    best, median = min(one_at_a_time), float(np.median(one_at_a_time))
    bound = bytes_per_query / bandwidth
    verdict = "met" if best / bound <= TARGET_BANDWIDTH_RATIO else "NOT met"
    print("\nExact search in numpy (course.search.exact_search), k=10")
    print(f"  one query at a time, 20 queries: best {best * 1e3:.1f} ms, median "
          f"{median * 1e3:.1f} ms; each scans {bytes_per_query / 1e6:.0f} MB, "
          f"i.e. {bytes_per_query / best / 1e9:.1f} GB/s at best")
    print(f"  bandwidth bound {bound * 1e3:.1f} ms: best is {best / bound:.2f}x the bound, "
          f"median {median / bound:.2f}x  [target <= {TARGET_BANDWIDTH_RATIO}x: {verdict}]")

    (_, exact_ids), seconds = timed(
        lambda: exact_search(gallery, queries, K, gallery_sq_norms=norms), repeats=2
    )
    exact_seconds = seconds / len(queries)
    print(f"  batch of {len(queries)} queries: {exact_seconds * 1e3:.2f} ms/query (queries share "
          f"passes over the gallery): the baseline for the speed-ups below")

    flat = faiss.IndexFlatL2(gallery.shape[1])
    flat.add(gallery)
    (_, flat_ids), seconds = timed(lambda: flat.search(queries, K), repeats=2)
    print(f"  faiss IndexFlatL2, same batch: {seconds / len(queries) * 1e3:.2f} ms/query, "
          f"recall@10 against numpy {recall_at_k(flat_ids, exact_ids):.3f}")
    return exact_ids, exact_seconds


def sweep(
    name: str,
    search: Callable[[int], np.ndarray],
    settings: list[int],
    label: str,
    queries: np.ndarray,
    exact_ids: np.ndarray,
    exact_seconds: float,
    people: tuple[np.ndarray, np.ndarray],
) -> None:
    """Print recall@10, speed-up and right-person rate of ``search(setting)`` (returning ids) for each setting."""
    for setting in settings:
        ids, seconds = timed(lambda: search(setting), repeats=2)
        recall = recall_at_k(ids, exact_ids)
        speedup = exact_seconds / (seconds / len(queries))
        meets = "yes" if recall >= TARGET_RECALL and speedup >= TARGET_SPEEDUP else ""
        print(f"  {name:<20}{label + '=' + str(setting):<14}"
              f"{seconds / len(queries) * 1e3:>9.3f}{speedup:>10.1f}x{recall:>11.3f}"
              f"{right_person_rate(ids, *people):>14.2f}   {meets}")


def benchmark_approximate(
    gallery: np.ndarray, queries: np.ndarray, exact_ids: np.ndarray, exact_seconds: float,
    people: tuple[np.ndarray, np.ndarray],
) -> None:
    """Recall@10, speed-up over exact search and right-person rate of the approximate indexes."""
    dim = gallery.shape[1]
    rng = np.random.default_rng(1)
    train = gallery[rng.choice(len(gallery), min(TRAIN_SIZE, len(gallery)), replace=False)]
    compare = dict(queries=queries, exact_ids=exact_ids, exact_seconds=exact_seconds, people=people)
    print(f"\nApproximate search, k=10; IVF indexes use {N_LISTS} lists trained on "
          f"{len(train):,} vectors.\nTarget: recall@10 >= {TARGET_RECALL} "
          f"at >= {TARGET_SPEEDUP:.0f}x faster than exact (batched). Right person: the share of queries whose "
          f"own person is returned first; exact search: {right_person_rate(exact_ids, *people):.2f}")
    print(f"  {'index':<20}{'setting':<14}{'ms/query':>9}{'speed-up':>11}{'recall@10':>11}{'right person':>14}"
          f"   meets target")

    for n_bits in LSH_BITS:
        lsh = RandomHyperplaneLSH(n_tables=max(LSH_TABLES), n_bits=n_bits, seed=0)
        _, seconds = timed(lambda: lsh.add(gallery))
        print(f"  course LSH, {n_bits} bits: {max(LSH_TABLES)} tables hashed in {seconds:.1f} s")
        sweep(f"course LSH {n_bits} bits", lambda n_tables: lsh.search(queries, K, n_tables)[1], LSH_TABLES,
              "tables", **compare)
        del lsh

    course_ivf = IVFIndex(seed=0)
    _, fit_seconds = timed(lambda: course_ivf.fit(train, N_LISTS))
    _, add_seconds = timed(lambda: course_ivf.add(gallery, np.arange(len(gallery))))
    print(f"  course IVFIndex: k-means fit {fit_seconds:.1f} s, add {add_seconds:.1f} s")
    sweep("course IVFIndex", lambda n_probe: course_ivf.search(queries, K, n_probe)[1],
          [1, 4, 16, 64, 128], "n_probe", **compare)
    del course_ivf

    ivf_flat = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, N_LISTS)
    _, seconds = timed(lambda: (ivf_flat.train(train), ivf_flat.add(gallery)))
    print(f"  faiss IndexIVFFlat: train + add {seconds:.1f} s")

    def search_ivf_flat(n_probe: int) -> np.ndarray:
        ivf_flat.nprobe = n_probe
        return ivf_flat.search(queries, K)[1]

    sweep("faiss IVFFlat", search_ivf_flat, [1, 4, 16, 64, 128], "nprobe", **compare)
    del ivf_flat

    hnsw = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS)
    _, seconds = timed(lambda: hnsw.add(gallery))
    print(f"  faiss IndexHNSWFlat (M={HNSW_NEIGHBOURS}, "
          f"efConstruction={hnsw.hnsw.efConstruction}): add {seconds:.1f} s")

    def search_hnsw(ef_search: int) -> np.ndarray:
        hnsw.hnsw.efSearch = ef_search
        return hnsw.search(queries, K)[1]

    sweep("faiss HNSWFlat", search_hnsw, [16, 32, 64, 128, 256], "efSearch", **compare)
    del hnsw

    ivf_pq = faiss.IndexIVFPQ(faiss.IndexFlatL2(dim), dim, N_LISTS, PQ_SUBQUANTISERS, 8)
    _, seconds = timed(lambda: (ivf_pq.train(train), ivf_pq.add(gallery)))
    print(f"  faiss IndexIVFPQ ({PQ_SUBQUANTISERS} x 8-bit codes): train + add {seconds:.1f} s; "
          f"{ivf_pq.code_size} bytes per face (+ 8-byte id), against {dim * 4} raw")

    def search_ivf_pq(n_probe: int) -> np.ndarray:
        ivf_pq.nprobe = n_probe
        return ivf_pq.search(queries, K)[1]

    sweep("faiss IVFPQ", search_ivf_pq, [1, 4, 16, 64], "nprobe", **compare)
    del ivf_pq

    # The shortlist is approximate, the final order exact: PQ decides which vectors are
    # worth a look, the raw vectors (kept beside the codes) decide the top k.
    reranked = faiss.index_factory(dim, RERANK_FACTORY)
    train = gallery[rng.choice(len(gallery), min(RERANK_TRAIN_SIZE, len(gallery)), replace=False)]
    _, seconds = timed(lambda: (reranked.train(train), reranked.add(gallery)))
    print(f"  faiss {RERANK_FACTORY} (IVF-PQ, 32-byte codes, re-ranking the best "
          f"{RERANK_FACTOR * K} with exact vectors): train + add {seconds:.1f} s")
    parameters = faiss.ParameterSpace()

    def search_reranked(n_probe: int) -> np.ndarray:
        parameters.set_index_parameters(reranked, f"nprobe={n_probe},k_factor_rf={RERANK_FACTOR}")
        return reranked.search(queries, K)[1]

    sweep("faiss IVFPQ+rerank", search_reranked, [32, 64, 128, 256], "nprobe", **compare)


def benchmark_sharded(gallery: np.ndarray, queries: np.ndarray, n_threads: int) -> None:
    """Lesson 03b's figures: a fan-out over shards on worker processes against one process."""
    part = gallery[:SHARDED_FACES]
    shards = make_shards(part, SHARDS)
    print(f"\nSharded exact search on Dask distributed (course.sharded_search), k={K}: {SHARDS} shards x "
          f"{len(shards[0]):,} faces on {SHARDED_WORKERS} worker processes of 1 thread, "
          f"{len(queries)} queries one at a time")
    with LocalSearchCluster(n_workers=SHARDED_WORKERS) as cluster:
        sharded = ShardedGallery(cluster.client, shards)
        sharded.search(queries[0], K)  # warm-up: the first call on each worker imports and allocates
        answers = [sharded.search(query, K) for query in queries]
    norms = squared_norms(part)
    in_process = np.array([timed(lambda: exact_search(part, query, K, gallery_sq_norms=norms))[1]
                           for query in queries]) * 1e3
    shard_ms = np.array([[answer.shard_seconds[s] for s in range(SHARDS)] for answer in answers]) * 1e3
    fan_out = np.array([answer.seconds for answer in answers]) * 1e3
    for s in range(SHARDS):
        print(f"  shard {s} search on its worker: p50 {np.percentile(shard_ms[:, s], 50):.1f} ms, "
              f"p99 {np.percentile(shard_ms[:, s], 99):.1f} ms")
    p50, p99 = np.percentile(fan_out, [50, 99])
    print(f"  query latency (fan-out and merge): p50 {p50:.1f} ms, p99 {p99:.1f} ms, tail/median {p99 / p50:.2f}")
    print(f"  in process (exact_search over the same {len(part):,} faces, {n_threads} threads): "
          f"p50 {np.median(in_process):.1f} ms")
    print(f"  fan-out overhead ratio (fan-out p50 / in-process p50): {p50 / np.median(in_process):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="gallery size")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--sharded-only", action="store_true", help="only the sharded search figures (lesson 03b)")
    args = parser.parse_args()
    n_threads = len(os.sched_getaffinity(0))
    faiss.omp_set_num_threads(n_threads)
    threadpool_limits(n_threads)  # BLAS (numpy's and faiss's) and OpenMP
    started = time.perf_counter()
    print(f"Threads: {n_threads}.  faiss {faiss.__version__}, numpy {np.__version__}.  "
          f"Load average at start: {os.getloadavg()[0]:.2f}")

    # Only the embeddings' statistics are needed here; checksums are `course doctor`'s job.
    faces = data.load("synthetic-people", check=False)
    model = calibrate_gallery_model(faces.embeddings[faces.found], faces.identities[faces.found])
    photo_variance = np.sum(model.spread**2)  # trace of the photo-noise covariance
    centre_variance = np.sum(model.centre_scale**2)  # trace of the centre covariance
    print(f"\nGallery model calibrated on {faces.found.sum()} real dlib embeddings of "
          f"{len(np.unique(faces.identities))} synthetic people (full covariances).\n"
          f"  Typical distance between two photos of the same person "
          f"{np.sqrt(2 * photo_variance):.3f}, of different people "
          f"{np.sqrt(2 * (photo_variance + centre_variance)):.3f}")

    (gallery, queries, gallery_people, query_people), seconds = timed(
        lambda: gallery_and_queries(model, args.n, args.queries))
    print(f"Gallery: {len(gallery):,} x {gallery.shape[1]} float32 = {gallery.nbytes / 1e6:,.0f} MB"
          f" ({PHOTOS_PER_IDENTITY} photos per identity), generated in {seconds:.1f} s; "
          f"{len(queries)} queries (held-out photos of enrolled people)\n")

    if not args.sharded_only:
        exact_ids, exact_seconds = benchmark_exact(gallery, queries, n_threads)
    benchmark_sharded(gallery, queries, n_threads)
    if not args.sharded_only:
        benchmark_approximate(gallery, queries, exact_ids, exact_seconds, (gallery_people, query_people))

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\nPeak RSS {peak_mb:,.0f} MB.  Total {time.perf_counter() - started:.0f} s.  "
          f"Load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
