"""1:N face search from scratch: exact search, locality-sensitive hashing, an inverted-file index, re-ranking
and base rates.

A *gallery* is an array of face embeddings, one row per enrolled photo. A
*query* (or probe) is the embedding of the face being searched for. Search
returns, for every query, the ``k`` gallery rows at the smallest Euclidean
distance, as ``(distances, indices)`` arrays of shape (n_queries, k), closest
first. Distances are true Euclidean distances (not squared), comparable with
``face_recognition``'s 0.6 tolerance and with :mod:`course.metrics`.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.cluster import KMeans

# Exact search works on blocks of queries x gallery rows holding at most this many
# distances. Every block of queries costs one full pass over the gallery, so blocks
# should hold many queries: 2**24 float32 distances is 16 queries against 1M faces,
# in 64 MB of extra memory, which fits next to a 512 MB gallery (1M x 128 float32)
# on a 2 GB Binder. (Galleries under 16,384 rows are selected with np.argpartition,
# whose int64 positions add 8 bytes per distance, so their blocks hold a third as many.)
DEFAULT_BLOCK_ELEMENTS = 2**24

# Long rows of distances (16 groups or more) are cut into groups of this many
# values for the cheap pre-selection in _k_smallest_in_long_rows.
SELECTION_GROUP_SIZE = 1024


# --- Exact search ---------------------------------------------------------------------


def squared_norms(vectors: ArrayLike) -> np.ndarray:
    """Squared length of every row, in the rows' own dtype (no temporary copy)."""
    vectors = np.asarray(vectors)
    return np.einsum("ij,ij->i", vectors, vectors)


def _k_smallest(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest values along the last axis, smallest first.

    ``np.argpartition`` finds the k smallest in linear time without sorting the
    rest; only those k are then sorted.
    """
    k = min(k, values.shape[-1])
    if k == 0:
        return np.empty(values.shape[:-1] + (0,), dtype=np.intp)
    if k == 1:  # the nearest only: argmin allocates one position per row, argpartition one per value
        return np.argmin(values, axis=-1)[..., None]
    candidates = np.argpartition(values, k - 1, axis=-1)[..., :k]
    order = np.argsort(np.take_along_axis(values, candidates, axis=-1), axis=-1)
    return np.take_along_axis(candidates, order, axis=-1)


def _k_smallest_in_long_rows(values: np.ndarray, k: int) -> np.ndarray:
    """Same result as ``_k_smallest`` for a 2-D array, much faster on long rows.

    np.argpartition costs about 10 ns per value: over a million distances that
    is as slow as reading the whole gallery. So each row is first filtered
    cheaply. Cut it into groups of ``SELECTION_GROUP_SIZE`` values and take each
    group's minimum (a fast vectorised pass). The k-th smallest of those minima
    is an upper bound on the row's k-th smallest value, since k different values
    lie at or below it. Only values under the bound can be among the k smallest:
    usually just a few dozen, on which ``_k_smallest`` is then run.
    """
    # Filtering needs at least k groups, and only pays for its per-row Python loop
    # on long rows (a few dozen microseconds of overhead against ~10 ns per value).
    if values.shape[1] < max(k, 16) * SELECTION_GROUP_SIZE:
        return _k_smallest(values, k)
    group_starts = np.arange(0, values.shape[1], SELECTION_GROUP_SIZE)
    group_minima = np.minimum.reduceat(values, group_starts, axis=1)
    bounds = np.partition(group_minima, k - 1, axis=1)[:, k - 1]
    positions = np.empty((len(values), k), dtype=np.intp)
    for row, (row_values, bound) in enumerate(zip(values, bounds)):
        survivors = np.flatnonzero(row_values <= bound)
        positions[row] = survivors[_k_smallest(row_values[survivors], k)]
    return positions


def _as_float_matrix(vectors: ArrayLike, dtype: np.dtype | None = None) -> np.ndarray:
    """``vectors`` as a 2-D float array, copied only if needed (one 1-D vector becomes a row)."""
    vectors = np.atleast_2d(np.asarray(vectors))
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {vectors.shape}")
    if dtype is None:
        dtype = vectors.dtype if vectors.dtype in (np.float32, np.float64) else np.float64
    return vectors.astype(dtype, copy=False)


def exact_search(
    gallery: ArrayLike,
    queries: ArrayLike,
    k: int,
    *,
    gallery_sq_norms: np.ndarray | None = None,
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest gallery rows of every query, by brute force.

    Squared distances come from one matrix product per block, using
    ||q - g||^2 = ||q||^2 - 2 q.g + ||g||^2. The ||q||^2 term is the same for
    every gallery row, so it cannot change the ranking and is added only to the
    k winners. Queries (and, for galleries above ``block_elements`` rows, the
    gallery too) are processed in blocks so that extra memory stays bounded
    (see ``DEFAULT_BLOCK_ELEMENTS``) whatever the gallery size.

    Arithmetic happens in the gallery's dtype (float32 for large galleries).

    Args:
        gallery: (n_gallery, dim) array.
        queries: (n_queries, dim) array, or one (dim,) vector.
        k: number of neighbours to return, at most ``n_gallery``.
        gallery_sq_norms: ``squared_norms(gallery)``, when searching the same
            gallery many times: computing it reads the whole gallery once more.
        block_elements: maximum number of distances held in memory at once.

    Returns:
        ``(distances, indices)``, each (n_queries, k), nearest first.
        Ties between equal distances are broken arbitrarily.
    """
    gallery = _as_float_matrix(gallery)
    queries = _as_float_matrix(queries, gallery.dtype)
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"queries have dim {queries.shape[1]}, gallery has {gallery.shape[1]}")
    if not 1 <= k <= len(gallery):
        raise ValueError(f"k must be between 1 and the gallery size {len(gallery)}, got {k}")
    if gallery_sq_norms is None:
        gallery_sq_norms = squared_norms(gallery)

    gallery_block = max(k, min(len(gallery), block_elements))
    query_block = max(1, block_elements // gallery_block)
    if k > 1 and gallery_block < 16 * SELECTION_GROUP_SIZE:
        # Rows this short are ranked by np.argpartition alone, whose int64 positions take 8 bytes per
        # distance beside the distance's own 4: a third as many distances per block keeps the same memory.
        query_block = max(1, query_block // 3)
    distances = np.empty((len(queries), k), dtype=gallery.dtype)
    indices = np.empty((len(queries), k), dtype=np.int64)
    for q_start in range(0, len(queries), query_block):
        query_rows = queries[q_start : q_start + query_block]
        best_partial = np.full((len(query_rows), k), np.inf, dtype=gallery.dtype)
        best_index = np.full((len(query_rows), k), -1, dtype=np.int64)
        for g_start in range(0, len(gallery), gallery_block):
            g_stop = g_start + gallery_block
            # partial = ||g||^2 - 2 q.g, built in place to avoid temporaries.
            partial = query_rows @ gallery[g_start:g_stop].T
            partial *= -2
            partial += gallery_sq_norms[g_start:g_stop]
            block_best = _k_smallest_in_long_rows(partial, k)
            # Merge this block's winners with the winners so far.
            merged_partial = np.hstack([best_partial, np.take_along_axis(partial, block_best, 1)])
            merged_index = np.hstack([best_index, block_best + g_start])
            keep = _k_smallest(merged_partial, k)
            best_partial = np.take_along_axis(merged_partial, keep, 1)
            best_index = np.take_along_axis(merged_index, keep, 1)
            del partial  # before the next block's distances exist: one block in memory at a time, not two
        squared = best_partial + squared_norms(query_rows)[:, None]
        # Rounding can make a tiny squared distance slightly negative.
        distances[q_start : q_start + query_block] = np.sqrt(np.maximum(squared, 0))
        indices[q_start : q_start + query_block] = best_index
    return distances, indices


def recall_at_k(approx_indices: ArrayLike, exact_indices: ArrayLike) -> float:
    """Fraction of the true k nearest neighbours that an approximate search found.

    For every query, count how many of its exact k nearest neighbours appear
    anywhere among the k results of the approximate search, divide by k, then
    average over queries. 1.0 means nothing was missed.
    """
    return float(np.mean(recall_per_query(approx_indices, exact_indices)))


def recall_per_query(approx_indices: ArrayLike, exact_indices: ArrayLike) -> np.ndarray:
    """Each query's recall@k: the fraction of its exact k nearest neighbours that the approximate search found."""
    approx_indices = np.atleast_2d(np.asarray(approx_indices))
    exact_indices = np.atleast_2d(np.asarray(exact_indices))
    if approx_indices.shape != exact_indices.shape or exact_indices.size == 0:
        raise ValueError(
            f"need equal, non-empty shapes, got {approx_indices.shape} and {exact_indices.shape}"
        )
    found = [
        np.isin(exact_row, approx_row).sum()
        for approx_row, exact_row in zip(approx_indices, exact_indices)
    ]
    return np.array(found) / exact_indices.shape[1]


def right_person_rate(
    result_ids: ArrayLike, gallery_people: ArrayLike, query_people: ArrayLike, rank: int = 1
) -> float:
    """Fraction of queries whose own person is among the first ``rank`` results (rank-1 identification).

    Recall@k asks whether the search found the true nearest *faces*; an investigator asks whether it
    found the right *person*. Several photos of one person are in the gallery, so a search can miss
    some true neighbours and still put one of that person's photos first, or find every neighbour of
    a query whose nearest face is a lookalike. ``result_ids`` are gallery rows (-1 for an empty slot,
    which counts as a miss), ``gallery_people`` the person in each gallery row and ``query_people``
    the person of each query, who must be in the gallery for the rate to mean anything.
    """
    result_ids = np.atleast_2d(np.asarray(result_ids))
    gallery_people = np.asarray(gallery_people)
    query_people = np.asarray(query_people)
    if len(result_ids) != len(query_people) or not 1 <= rank <= result_ids.shape[1]:
        raise ValueError(f"need one result row per query and 1 <= rank <= {result_ids.shape[1]}, got "
                         f"{len(result_ids)} rows for {len(query_people)} queries and rank {rank}")
    top = result_ids[:, :rank]
    people = np.where(top >= 0, gallery_people[np.maximum(top, 0)], -1)
    found = np.any((people == query_people[:, None]) & (top >= 0), axis=1)
    return float(np.mean(found))


def rerank(
    gallery: ArrayLike, queries: ArrayLike, candidate_ids: ArrayLike, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest of each query's candidates, by their exact vectors: the re-rank after a shortlist.

    A compressed index (product quantisation) ranks by approximate distances; it is good at *finding*
    a shortlist (say 100 candidates) and poor at *ordering* near-ties. Re-scoring the shortlist with the
    raw vectors (``gallery``, the rows the ids point to; no copy is made of it) gives exact distances, so
    the final top ``k`` is exact among the candidates. faiss's ``IndexRefineFlat`` (factory suffix
    ``RFlat``) does the same with its own copy of the vectors. Ids of -1 (an empty slot) are skipped;
    missing results are padded with distance ``inf`` and id ``-1``.

    Returns:
        ``(distances, ids)``, each (n_queries, k), nearest first.
    """
    gallery = _as_float_matrix(gallery)
    queries = _as_float_matrix(queries, gallery.dtype)
    candidate_ids = np.atleast_2d(np.asarray(candidate_ids, dtype=np.int64))
    if len(candidate_ids) != len(queries) or k < 1:
        raise ValueError(f"need one row of candidates per query and k >= 1, got {len(candidate_ids)} rows "
                         f"for {len(queries)} queries and k = {k}")
    valid = candidate_ids >= 0
    rows = gallery[np.where(valid, candidate_ids, 0)]  # (n_queries, n_candidates, dim)
    rows -= queries[:, None, :]  # rows is a fresh copy (fancy indexing), so the gallery is untouched
    squared = np.einsum("qcd,qcd->qc", rows, rows)
    squared[~valid] = np.inf
    best = _k_smallest(squared, k)
    distances = np.sqrt(np.take_along_axis(squared, best, 1))
    ids = np.take_along_axis(candidate_ids, best, 1)
    ids[~np.isfinite(distances)] = -1
    if best.shape[1] < k:  # fewer candidates than k
        pad = k - best.shape[1]
        distances = np.hstack([distances, np.full((len(queries), pad), np.inf, distances.dtype)])
        ids = np.hstack([ids, np.full((len(queries), pad), -1, np.int64)])
    return distances, ids


# --- The historical baseline: locality-sensitive hashing ------------------------------


class RandomHyperplaneLSH:
    """Locality-sensitive hashing with random hyperplanes (Charikar 2002; Indyk & Motwani 1998).

    Each *table* draws ``n_bits`` random hyperplanes through the gallery's centre. A face's key in
    that table is one bit per hyperplane: which side of it the face lies on. Two faces at angle θ
    (seen from the centre) fall on the same side of one random hyperplane with probability 1 − θ/π,
    so near faces often share all ``n_bits`` bits and land in the same *bucket*, and far faces rarely
    do. A query's candidates are the faces in its bucket of every table; the candidates are then
    ranked by their exact distances (:func:`rerank`'s idea), so the method misses neighbours but never
    misorders the ones it finds.

    The trade-off: more bits make buckets smaller (fewer candidates, faster) but split true neighbours
    from the query more often; more tables give a neighbour more chances to share a bucket, at the
    cost of memory and candidates. :func:`lsh_candidate_probability` gives the textbook curve.

    The gallery is kept by reference (not copied) for the exact ranking; ``search`` may use only the
    first ``n_tables`` tables, so one index serves a sweep over the number of tables.
    """

    def __init__(self, n_tables: int, n_bits: int, seed: int = 0) -> None:
        if not 1 <= n_bits <= 62 or n_tables < 1:
            raise ValueError(f"need 1 <= n_bits <= 62 and n_tables >= 1, got {n_bits} bits and {n_tables} tables")
        self.n_tables, self.n_bits, self.seed = n_tables, n_bits, seed
        self._gallery: np.ndarray | None = None

    def add(self, gallery: ArrayLike) -> RandomHyperplaneLSH:
        """Hash every gallery row into every table (any earlier gallery is replaced)."""
        gallery = _as_float_matrix(gallery)
        rng = np.random.default_rng(self.seed)
        self.hyperplanes = rng.standard_normal((self.n_tables, gallery.shape[1], self.n_bits)).astype(gallery.dtype)
        # Hyperplanes through the centre: (v - centre)·h > 0, computed as v·h > centre·h without a centred copy.
        self._offsets = gallery.mean(axis=0, dtype=np.float64).astype(gallery.dtype) @ self.hyperplanes
        keys = self._keys(gallery)
        self._order = [np.argsort(table_keys, kind="stable").astype(np.int32 if len(gallery) < 2**31 else np.int64)
                       for table_keys in keys.T]
        self._sorted_keys = [table_keys[order] for table_keys, order in zip(keys.T, self._order)]
        self._gallery = gallery
        return self

    def _keys(self, vectors: np.ndarray, rows_per_block: int = 8192) -> np.ndarray:
        """(n_vectors, n_tables) whole numbers: each vector's ``n_bits`` sides of a table's hyperplanes, as binary
        digits. All tables' hyperplanes are applied in one matrix product per block of rows."""
        all_hyperplanes = self.hyperplanes.transpose(1, 0, 2).reshape(len(self.hyperplanes[0]), -1)
        powers = np.int64(1) << np.arange(self.n_bits, dtype=np.int64)
        keys = np.empty((len(vectors), self.n_tables), dtype=np.int32 if self.n_bits < 31 else np.int64)
        for start in range(0, len(vectors), rows_per_block):
            sides = vectors[start: start + rows_per_block] @ all_hyperplanes > self._offsets.reshape(-1)
            keys[start: start + rows_per_block] = sides.reshape(len(sides), self.n_tables, self.n_bits) @ powers
        return keys

    def candidates(self, queries: ArrayLike, n_tables: int | None = None) -> list[np.ndarray]:
        """For each query, the sorted gallery rows sharing its bucket in at least one of the first ``n_tables``."""
        gallery = self._checked_gallery()
        queries = _as_float_matrix(queries, gallery.dtype)
        query_keys = self._keys(queries)
        slices = []  # per table: each query's bucket as a (start, stop) range of the table's sorted keys
        for table in range(self._tables_used(n_tables)):
            keys, sorted_keys = query_keys[:, table], self._sorted_keys[table]
            slices.append((np.searchsorted(sorted_keys, keys), np.searchsorted(sorted_keys, keys, side="right")))
        found = []
        is_candidate = np.zeros(len(gallery), dtype=bool)  # marks the union without sorting it
        for row in range(len(queries)):
            for table, (starts, stops) in enumerate(slices):
                is_candidate[self._order[table][starts[row]: stops[row]]] = True
            found.append(np.flatnonzero(is_candidate))
            is_candidate[found[-1]] = False
        return found

    def search(
        self, queries: ArrayLike, k: int, n_tables: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``k`` nearest candidates of each query, exactly ranked, and how many candidates each had.

        Returns:
            ``(distances, ids, n_candidates)``: (n_queries, k) nearest first, padded with ``inf`` and
            ``-1`` when a query has fewer than ``k`` candidates; and (n_queries,) candidate counts, the
            number of exact distances computed (the cost that replaces scanning the whole gallery).
        """
        gallery = self._checked_gallery()
        queries = _as_float_matrix(queries, gallery.dtype)
        distances = np.full((len(queries), k), np.inf, dtype=gallery.dtype)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        found = self.candidates(queries, n_tables)
        for row, (query, rows) in enumerate(zip(queries, found)):
            if len(rows):
                distances[row], ids[row] = (r[0] for r in rerank(gallery, query, rows[None, :], k))
        return distances, ids, np.array([len(rows) for rows in found], dtype=np.int64)

    def _tables_used(self, n_tables: int | None) -> int:
        if n_tables is None:
            return self.n_tables
        if not 1 <= n_tables <= self.n_tables:
            raise ValueError(f"n_tables must be between 1 and {self.n_tables}, got {n_tables}")
        return n_tables

    def _checked_gallery(self) -> np.ndarray:
        if self._gallery is None:
            raise RuntimeError("call add(gallery) before searching")
        return self._gallery


def lsh_candidate_probability(angle: ArrayLike, n_bits: int, n_tables: int) -> np.ndarray:
    """Chance that a face at ``angle`` (radians, seen from the centre) from the query becomes a candidate.

    One hyperplane keeps the two on the same side with probability p = 1 − angle/π; all ``n_bits`` of
    a table agree with p^n_bits; at least one of ``n_tables`` independent tables with
    1 − (1 − p^n_bits)^n_tables. More bits push both near and far faces' chances down; more tables
    lift them back up, the near faces' first.
    """
    same_side = 1 - np.asarray(angle, dtype=np.float64) / np.pi
    return 1 - (1 - same_side**n_bits) ** n_tables


# --- Approximate search: an inverted-file (IVF) index --------------------------------


def _concatenate_ids(id_arrays: list[NDArray[np.int64]]) -> NDArray[np.int64]:
    """Join id arrays; an empty list (an index with no lists yet) gives no ids."""
    return np.concatenate([np.empty(0, np.int64), *id_arrays])


@dataclass
class _InvertedList:
    """The gallery rows assigned to one k-means centroid."""

    vectors: NDArray[np.float32]
    ids: NDArray[np.int64]
    sq_norms: NDArray[np.float32]
    alive: NDArray[np.bool_]  # False = tombstoned: deleted, but still physically here


class IVFIndex:
    """An inverted-file index: k-means cells, and search only the nearest cells.

    * ``fit`` runs k-means on training vectors; each centroid gets a list.
    * ``add`` stores each vector in the list of its nearest centroid.
    * ``search`` compares a query only with the vectors in its ``n_probe``
      nearest lists: roughly ``n_probe / n_lists`` of the gallery. A true
      neighbour sitting in an unprobed list is missed; that is the trade-off.
    * ``remove`` is a *lazy* delete, as in many production systems: the ids are
      tombstoned (never returned by ``search`` again) but their vectors stay in
      memory until ``compact`` rewrites the lists. ``n_stored``,
      ``stored_ids`` and ``stored_vector`` show what is physically still there.

    Vectors are stored as float32, identified by caller-chosen int64 ids.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.centroids: NDArray[np.float32] | None = None
        self._lists: list[_InvertedList] = []

    def fit(self, train_vectors: ArrayLike, n_lists: int) -> IVFIndex:
        """Learn ``n_lists`` centroids with k-means; any stored vectors are discarded.

        As in faiss, k-means starts from randomly chosen training vectors (the
        default k-means++ start takes minutes to pick 1,024 centroids one by one)
        and runs 20 iterations: the cells only need to be reasonable, not optimal.
        Aim for at least ~40 training vectors per list.
        """
        train_vectors = _as_float_matrix(train_vectors, np.float32)
        kmeans = KMeans(
            n_clusters=n_lists, init="random", n_init=1, max_iter=20, random_state=self.seed
        )
        self.centroids = kmeans.fit(train_vectors).cluster_centers_.astype(np.float32)
        dim = train_vectors.shape[1]
        self._lists = [
            _InvertedList(
                vectors=np.empty((0, dim), np.float32),
                ids=np.empty(0, np.int64),
                sq_norms=np.empty(0, np.float32),
                alive=np.empty(0, bool),
            )
            for _ in range(n_lists)
        ]
        return self

    def _nearest_lists(self, vectors: np.ndarray, n: int) -> np.ndarray:
        """For each vector, the numbers of its ``n`` nearest lists (an exact search)."""
        if self.centroids is None:
            raise RuntimeError("call fit() before adding or searching")
        if not 1 <= n <= self.n_lists:
            raise ValueError(f"n_probe must be between 1 and n_lists={self.n_lists}, got {n}")
        return exact_search(self.centroids, vectors, n)[1]

    def add(self, vectors: ArrayLike, ids: ArrayLike) -> None:
        """Store ``vectors`` under the given ids (unique, and not already stored)."""
        vectors = _as_float_matrix(vectors, np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise ValueError("need exactly one id per vector")
        if len(np.unique(ids)) != len(ids) or np.isin(ids, self.stored_ids()).any():
            raise ValueError("ids must be unique and not already stored")
        assigned = self._nearest_lists(vectors, 1)[:, 0]
        # Sort rows by list number so each list's new rows form one contiguous run.
        order = np.argsort(assigned, kind="stable")
        run_starts = np.searchsorted(assigned[order], np.arange(self.n_lists + 1))
        for list_no, inverted_list in enumerate(self._lists):
            rows = order[run_starts[list_no] : run_starts[list_no + 1]]
            if len(rows) == 0:
                continue
            inverted_list.vectors = np.vstack([inverted_list.vectors, vectors[rows]])
            inverted_list.ids = np.concatenate([inverted_list.ids, ids[rows]])
            inverted_list.sq_norms = np.concatenate(
                [inverted_list.sq_norms, squared_norms(vectors[rows])]
            )
            inverted_list.alive = np.concatenate([inverted_list.alive, np.ones(len(rows), bool)])

    def search(
        self, queries: ArrayLike, k: int, n_probe: int = 1
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """The (approximate) ``k`` nearest stored vectors of each query.

        Only the ``n_probe`` lists whose centroids are nearest to the query are
        scanned; tombstoned vectors are skipped. If fewer than ``k`` vectors are
        found, the missing slots hold distance ``inf`` and id ``-1`` (as in faiss).

        Returns:
            ``(distances, ids)``, each (n_queries, k), nearest first.
        """
        queries = _as_float_matrix(queries, np.float32)
        probed_lists = self._nearest_lists(queries, n_probe)
        distances = np.full((len(queries), k), np.inf, dtype=np.float32)
        found_ids = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (query, list_numbers) in enumerate(zip(queries, probed_lists)):
            lists = [self._lists[number] for number in list_numbers]
            # ||g||^2 - 2 q.g for every candidate; tombstoned ones can never win.
            partial = np.concatenate([lst.sq_norms - 2 * (lst.vectors @ query) for lst in lists])
            partial[~np.concatenate([lst.alive for lst in lists])] = np.inf
            candidate_ids = np.concatenate([lst.ids for lst in lists])
            best = _k_smallest(partial, k)
            best = best[np.isfinite(partial[best])]
            squared = partial[best] + query @ query
            distances[row, : len(best)] = np.sqrt(np.maximum(squared, 0))
            found_ids[row, : len(best)] = candidate_ids[best]
        return distances, found_ids

    def remove(self, ids: ArrayLike) -> None:
        """Tombstone ``ids``: ``search`` stops returning them, but they stay stored.

        Raises ``KeyError`` (and removes nothing) if an id is not searchable.
        """
        ids = np.asarray(ids, dtype=np.int64)
        searchable = _concatenate_ids([lst.ids[lst.alive] for lst in self._lists])
        missing = np.setdiff1d(ids, searchable)
        if len(missing):
            raise KeyError(f"ids not in the index (or already removed): {missing[:5].tolist()}")
        for inverted_list in self._lists:
            inverted_list.alive[np.isin(inverted_list.ids, ids)] = False

    def compact(self) -> int:
        """Physically drop tombstoned vectors; returns how many were dropped."""
        dropped = 0
        for inverted_list in self._lists:
            keep = inverted_list.alive
            dropped += int(np.count_nonzero(~keep))
            inverted_list.vectors = inverted_list.vectors[keep]
            inverted_list.ids = inverted_list.ids[keep]
            inverted_list.sq_norms = inverted_list.sq_norms[keep]
            inverted_list.alive = inverted_list.alive[keep]
        return dropped

    @property
    def n_lists(self) -> int:
        """Number of lists (k-means cells)."""
        return len(self._lists)

    @property
    def n_stored(self) -> int:
        """Vectors physically held in memory, tombstoned ones included."""
        return sum(len(lst.ids) for lst in self._lists)

    @property
    def n_searchable(self) -> int:
        """Vectors that ``search`` can return (stored and not tombstoned)."""
        return sum(int(np.count_nonzero(lst.alive)) for lst in self._lists)

    def list_sizes(self) -> NDArray[np.int64]:
        """Number of stored vectors in each list: k-means cells are rarely balanced."""
        return np.array([len(lst.ids) for lst in self._lists], dtype=np.int64)

    def stored_ids(self) -> NDArray[np.int64]:
        """Sorted ids of every stored vector, tombstoned ones included."""
        return np.sort(_concatenate_ids([lst.ids for lst in self._lists]))

    def tombstoned_ids(self) -> NDArray[np.int64]:
        """Sorted ids that were removed but are still physically stored."""
        return np.sort(_concatenate_ids([lst.ids[~lst.alive] for lst in self._lists]))

    def stored_vector(self, vector_id: int) -> NDArray[np.float32]:
        """The raw stored vector with this id, even if tombstoned: deletion residue."""
        for inverted_list in self._lists:
            positions = np.flatnonzero(inverted_list.ids == vector_id)
            if len(positions):
                return inverted_list.vectors[positions[0]].copy()
        raise KeyError(f"id {vector_id} is not stored")


# --- Memory ---------------------------------------------------------------------------------


def release_freed_memory() -> bool:
    """Give the memory of deleted arrays and indexes back to the operating system; True if it could be asked.

    Deleting a large index frees its memory *inside* the process: the C allocator keeps the freed pages to
    reuse them, so the process's resident memory (what a 2 GB Binder or a laptop counts) does not fall, and
    the next large array is taken on top of it. glibc's ``malloc_trim`` hands the free pages back (lesson
    03 measured over 100 MB after its 100,000-face indexes were deleted). Elsewhere (macOS, Windows, a
    Linux without glibc) this does nothing and returns False.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    libc.malloc_trim(0)
    return True


# --- Synthetic galleries ---------------------------------------------------------------


@dataclass
class GalleryModel:
    """A simple statistical model of face embeddings (see :func:`synthetic_gallery`).

    Attributes:
        centre_mean: (dim,) average of the identity centres.
        centre_scale: (dim, dim) matrix A: identity centres vary with covariance A A^T.
        spread: (dim, dim) matrix B: one person's photos scatter around their centre
            with covariance B B^T.
    """

    centre_mean: NDArray[np.float64]
    centre_scale: NDArray[np.float64]
    spread: NDArray[np.float64]


def _scale_matrix(scale: ArrayLike, dim: int) -> NDArray[np.float32]:
    """A scale given as a number, a per-dimension vector or a (dim, dim) matrix, as a matrix."""
    scale = np.asarray(scale, dtype=np.float32)
    if scale.ndim == 2:
        if scale.shape != (dim, dim):
            raise ValueError(f"a scale matrix must be ({dim}, {dim}), got {scale.shape}")
        return scale
    return np.diag(np.broadcast_to(scale, (dim,)))


def synthetic_gallery(
    n: int,
    *,
    centre_scale: ArrayLike,
    spread: ArrayLike,
    centre_mean: ArrayLike = 0.0,
    n_identities: int | None = None,
    dim: int = 128,
    seed: int = 0,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Fake face embeddings: random people, each photographed a few times.

    Each identity gets a centre, ``centre_mean + centre_scale @ z``; each photo
    is its identity's centre plus ``spread @ z'`` (z and z' standard normal
    vectors). A scale may be a number (the same standard deviation in every
    dimension), a vector (one standard deviation per dimension) or a (dim, dim)
    matrix, which also correlates the dimensions as real embeddings do. Two
    photos of one person are then about sqrt(2 x total photo variance) apart.
    Use :func:`calibrate_gallery_model` to take the parameters from real
    embeddings: ``synthetic_gallery(n, **vars(model))``.

    Rows are grouped by identity, and the n rows are split as evenly as
    possible among the identities (default: one photo per identity). The array
    is generated in chunks, so temporary memory stays small: 1M x 128 needs
    little more than the 512 MB result.

    Returns:
        ``(embeddings, identities)``: float32 (n, dim) and int64 (n,).
    """
    n_identities = n if n_identities is None else n_identities
    if not 1 <= n_identities <= n:
        raise ValueError(f"n_identities must be between 1 and n={n}, got {n_identities}")
    centre_mean = np.broadcast_to(np.asarray(centre_mean, np.float32), (dim,))
    centre_scale = _scale_matrix(centre_scale, dim)
    spread = _scale_matrix(spread, dim)
    rng = np.random.default_rng(seed)
    identities = np.arange(n, dtype=np.int64) * n_identities // n
    first_row = np.searchsorted(identities, np.arange(n_identities + 1))
    embeddings = np.empty((n, dim), dtype=np.float32)
    identities_per_chunk = max(1, 2**16 * n_identities // n)  # about 65,536 rows per chunk
    for start in range(0, n_identities, identities_per_chunk):
        stop = min(start + identities_per_chunk, n_identities)
        z = rng.standard_normal((stop - start, dim), np.float32)
        centres = centre_mean + z @ centre_scale.T
        rows = slice(first_row[start], first_row[stop])
        photos = centres[identities[rows] - start]
        photos += rng.standard_normal(photos.shape, np.float32) @ spread.T
        embeddings[rows] = photos
    return embeddings, identities


def _matrix_square_root(covariance: NDArray[np.float64]) -> NDArray[np.float64]:
    """The symmetric square root S (S S^T = covariance), negative eigenvalues set to 0."""
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    return (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))) @ eigenvectors.T


def calibrate_gallery_model(embeddings: ArrayLike, identities: ArrayLike) -> GalleryModel:
    """Estimate :class:`GalleryModel` parameters from real embeddings.

    The method of moments behind a random-effects model (photo = centre + noise):

    1. Photo noise: the covariance of every photo's deviation from its own
       identity's mean, pooled, dividing by n_photos - n_identities (the
       degrees of freedom left once the means are estimated).
    2. ``centre_mean``: the average of the identity means.
    3. Centre covariance: the covariance of the identity means, minus the part
       caused by photo noise. The mean of m noisy photos wobbles around the
       true centre with covariance (noise covariance) / m; the average of that
       over identities is subtracted.

    Scales are returned as symmetric matrix square roots of the covariances.
    With few identities, the centre covariance has rank at most
    n_identities - 1, so synthetic centres then vary only in those directions.
    Needs at least two identities and at least one identity with two photos.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels, codes, photos_per_identity = np.unique(
        np.asarray(identities), return_inverse=True, return_counts=True
    )
    if embeddings.ndim != 2 or len(codes) != len(embeddings):
        raise ValueError("need a 2-D embeddings array with one identity per row")
    if len(labels) < 2 or len(embeddings) == len(labels):
        raise ValueError("need two or more identities, and repeated photos of some of them")
    sums = np.zeros((len(labels), embeddings.shape[1]))
    np.add.at(sums, codes, embeddings)
    identity_means = sums / photos_per_identity[:, None]

    residuals = embeddings - identity_means[codes]
    noise_covariance = residuals.T @ residuals / (len(embeddings) - len(labels))
    noise_in_means = noise_covariance * np.mean(1.0 / photos_per_identity)
    centre_covariance = np.cov(identity_means, rowvar=False) - noise_in_means
    return GalleryModel(
        centre_mean=identity_means.mean(axis=0),
        centre_scale=_matrix_square_root(centre_covariance),
        spread=_matrix_square_root(noise_covariance),
    )


# --- Base rates and sizing -----------------------------------------------------------------


def expected_false_hits(n_gallery: ArrayLike, fmr: ArrayLike) -> np.ndarray:
    """Expected number of wrong people under the threshold for one search: N x FMR.

    A 1-in-a-million FMR against a 30-billion-face gallery still means about
    30,000 false candidates per search.
    """
    return np.asarray(n_gallery, dtype=np.float64) * np.asarray(fmr, dtype=np.float64)


def false_positive_identification_rate(n_gallery: ArrayLike, fmr: ArrayLike) -> np.ndarray:
    """Chance that a search for someone *not* enrolled returns at least one false hit.

    1 - (1 - FMR)^N, assuming the N comparisons err independently (real
    galleries have lookalikes and relatives, so treat it as a first estimate).
    Computed as -expm1(N log1p(-FMR)): the naive formula rounds 1 - 1e-9 and
    its 30-billionth power badly in floating point.
    """
    n_gallery = np.asarray(n_gallery, dtype=np.float64)
    fmr = np.asarray(fmr, dtype=np.float64)
    if np.any(n_gallery < 0) or np.any((fmr < 0) | (fmr > 1)):
        raise ValueError("need n_gallery >= 0 and 0 <= fmr <= 1")
    # FMR = 1 gives log1p(-1) = -inf (the rate is then 1); an empty gallery would
    # give 0 x -inf = nan there, so it is set to 0 (no comparisons, no false hits).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_no_false_hit = np.where(n_gallery == 0, 0.0, n_gallery * np.log1p(-fmr))
    return -np.expm1(log_no_false_hit)


@dataclass(frozen=True)
class IndexFootprint:
    """How an index is split across machines (see :func:`index_footprint`)."""

    total_bytes: int  # one copy of the whole index
    n_shards: int  # pieces of at most shard_bytes, one per machine
    replicas: int  # copies of every shard, for throughput and failover
    n_machines: int  # n_shards x replicas
    stored_bytes: int  # total_bytes x replicas, across the fleet


def index_footprint(
    n_vectors: int, bytes_per_vector: float, *, shard_bytes: float, replicas: int = 1
) -> IndexFootprint:
    """Size a search index: total memory, shards and machines.

    Args:
        n_vectors: faces in the gallery (e.g. 30e9).
        bytes_per_vector: memory per face, including its id and any index
            overhead (512 for raw 128-d float32, ~16-64 after product quantisation).
        shard_bytes: index memory one machine holds (e.g. 256 GB of its RAM).
        replicas: copies of each shard.
    """
    if n_vectors < 0 or bytes_per_vector <= 0 or shard_bytes <= 0 or replicas < 1:
        raise ValueError("need n_vectors >= 0, positive sizes and replicas >= 1")
    total_bytes = math.ceil(n_vectors * bytes_per_vector)
    n_shards = max(1, math.ceil(total_bytes / shard_bytes))
    return IndexFootprint(
        total_bytes=total_bytes,
        n_shards=n_shards,
        replicas=replicas,
        n_machines=n_shards * replicas,
        stored_bytes=total_bytes * replicas,
    )
