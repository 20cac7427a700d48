"""Exercise checks for lesson 03b (a sharded search on Dask distributed).

Each check compares the student's answer with the right one *and* with the typical
wrong answers, says which mistake it looks like, and returns a
:class:`course.checks.Feedback` (truthy when the answer is right).
"""

from __future__ import annotations

import math

import numpy as np

from . import ConceptQuestion, Feedback, concept_quiz, verdict
from ..search import exact_search
from ..sharded_search import Shard, merge_top_k

# ------------------------------------------------------------------------ exercise 1


def _as_id_matrix(answer: object, n_queries: int) -> np.ndarray | None:
    """The answer as a 2-D array of whole numbers, or None if it cannot be one."""
    try:
        array = np.asarray(answer)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        return None
    if array.ndim == 1 and n_queries == 1:
        array = array[None, :]
    if array.ndim != 2 or array.size == 0:
        return None
    if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.array_equal(array, np.round(array)):
        array = array.astype(np.int64)
    return array if np.issubdtype(array.dtype, np.integer) else None


def merged_top_k(answer: object, shards: list[Shard], queries: np.ndarray, k: int) -> Feedback:
    """Exercise 1: the global ``k`` nearest gallery rows of every query, merged from the shards' answers.

    ``answer`` holds gallery-wide ids, shape (n_queries, k), nearest first. Rows at equal
    distances are interchangeable, so the check compares the distances of the rows the
    answer names with the true ``k`` smallest distances.
    """
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    starts = np.array([shard.ids[0] for shard in shards])
    n_gallery = sum(len(shard) for shard in shards)
    if not np.array_equal(np.concatenate([shard.ids for shard in shards]), np.arange(n_gallery)):
        raise ValueError("the shards must be the lesson's contiguous pieces of one gallery, in order")

    def vectors(ids: np.ndarray) -> np.ndarray:  # gallery rows by id, without copying the whole gallery
        owner = np.searchsorted(starts, ids, side="right") - 1
        out = np.empty(ids.shape + (queries.shape[1],), np.float64)
        for s, shard in enumerate(shards):
            out[owner == s] = shard.vectors[ids[owner == s] - starts[s]]
        return out

    def exact_ids(k_wanted: int) -> np.ndarray:  # exact search, shard by shard, merged
        per_shard = [exact_search(shard.vectors, queries, min(k_wanted, len(shard)), gallery_sq_norms=shard.sq_norms)
                     for shard in shards]
        return merge_top_k([d for d, _ in per_shard], [shard.ids[r] for shard, (_, r) in zip(shards, per_shard)],
                           k_wanted)[1]

    if answer is None:
        return verdict(False, "Your answer is None: did you forget to assign (or `return`) the merged ids?")
    matrix = _as_id_matrix(answer, len(queries))
    if matrix is None:
        try:
            values = np.asarray(answer, dtype=float)
        except (TypeError, ValueError):  # ragged rows, text, objects
            return verdict(False, f"Expected whole-number gallery ids in {len(queries)} rows of {k}; got a "
                                  f"{type(answer).__name__} that is not a table of numbers (rows of different lengths?).")
        if values.shape == (len(queries), k):
            return verdict(False, "Your values are not whole numbers: return gallery ids (integers), not distances.")
        return verdict(False, f"Expected whole-number gallery ids, shape ({len(queries)}, {k}); got "
                              f"{type(answer).__name__} of shape {values.shape}.")
    true_ids = exact_ids(k)
    n_shards = len(shards)
    if matrix.shape == (len(queries), n_shards * k):
        return verdict(False, f"You kept all {n_shards} × {k} candidates. Sort them by distance and keep only "
                           f"the {k} nearest of each query.")
    if matrix.shape != (len(queries), k):
        return verdict(False, f"Expected shape ({len(queries)}, {k}): {k} ids for each of the {len(queries)} "
                           f"queries; got {matrix.shape}.")
    if matrix.min() < 0 or matrix.max() >= n_gallery:
        return verdict(False, f"Some ids are outside the gallery (0 to {n_gallery - 1}).")

    def distances_to(rows: np.ndarray) -> np.ndarray:  # in float64, so that only true ties tie
        return np.linalg.norm(vectors(rows) - queries[:, None, :].astype(np.float64), axis=2)

    distances = distances_to(matrix)
    # The float64 k nearest lie among float32 exact search's k + 10 nearest (unless k + 10 rows tie).
    candidates = exact_ids(min(n_gallery, k + 10))
    best = np.sort(distances_to(candidates), axis=1)[:, :k]
    if np.allclose(distances, best, rtol=0, atol=1e-6) and all(len(set(row)) == k for row in matrix.tolist()):
        return verdict(True, f"Your merged top {k} equals exact search over the whole gallery, for all "
                          f"{len(queries)} queries: every shard was searched exactly, so nothing is missed.")
    # Which mistakes does it look like?
    local_truth = true_ids - starts[np.searchsorted(starts, true_ids, side="right") - 1]
    if np.array_equal(matrix, local_truth):
        return verdict(False, "These are row numbers *inside* each shard (0 to "
                           f"{max(len(shard) for shard in shards) - 1}), not gallery ids: a shard's row r is gallery row "
                           "shard.ids[r] (its first row's id plus r). Convert before merging, or two shards' "
                           "row 5 look like the same face.")
    if np.array_equal(matrix, exact_search(shards[0].vectors, queries, k)[1]):
        return verdict(False, f"These are only the first shard's top {k}: take the candidates of every shard, "
                           "then keep the nearest k overall.")
    if any(len(set(row)) < k for row in matrix.tolist()):
        return verdict(False, "Some ids appear twice in a row: each face can be a neighbour only once.")
    if np.allclose(np.sort(distances, axis=1), best, rtol=0, atol=1e-6):
        if np.allclose(distances[:, ::-1], best, rtol=0, atol=1e-6):
            return verdict(False, "The right faces in the wrong order: farthest first. Sort by distance, ascending.")
        if np.all(np.diff(matrix, axis=1) > 0):
            return verdict(False, "The right faces, sorted by id rather than by distance: nearest first, please.")
        return verdict(False, "The right faces, but not nearest first: sort each query's candidates by distance.")
    if np.all(np.diff(matrix, axis=1) > 0):
        return verdict(False, f"Your ids are in increasing order, as if the candidates were sorted by *id*. Sort "
                           f"them by *distance*, keep the {k} nearest, and return the ids that go with them.")
    found = sum(len(set(mine) & set(true)) for mine, true in zip(matrix.tolist(), true_ids.tolist()))
    return verdict(False, f"Only {found} of the {true_ids.size} true neighbours are in your answer. Gather every "
                       "shard's (distance, gallery id) pairs for a query, sort them by distance, keep the first k.")


# ------------------------------------------------------------------------ exercise 2


def tail_probability(answer: object, n_shards: int, quantile: float = 0.99) -> Feedback:
    """Exercise 2: the chance that a query fanned out to ``n_shards`` shards waits for at least one
    shard slower than its ``quantile`` latency: 1 − quantile^n_shards (shards independent)."""
    if not isinstance(n_shards, (int, np.integer)) or n_shards < 1 or not 0 < quantile < 1:
        raise ValueError("n_shards must be a positive whole number and quantile between 0 and 1")
    if isinstance(answer, (bool, np.bool_)):
        return verdict(False, "Expected a probability (a number between 0 and 1), got True/False.")
    if isinstance(answer, str):
        return verdict(False, "Expected one number, a probability; got a string (remove the quotes).")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, f"Expected one number, a probability; got {type(answer).__name__}.")
    slow = 1 - quantile  # the chance that one shard is slower than its quantile
    right = -math.expm1(n_shards * math.log1p(-slow))
    # Accept the exact value, or that value rounded to 2 or 3 decimals; nothing else that merely lies near it
    # (1 − 0.99^99 and 1 − 0.99^101 are 0.005 away, and wrong).
    if math.isclose(value, right, rel_tol=1e-6) or value in (round(right, 2), round(right, 3)):
        return verdict(True, f"1 − {quantile:g}^{n_shards} = {right:.3f}: about {right:.0%} of queries wait for at "
                          f"least one shard in its slowest {slow:.0%}. With enough shards the rare slow case of one "
                          "shard becomes the usual case of the query: the tail sets the latency.")
    if 1 < value <= 100 and (math.isclose(value / 100, right, rel_tol=1e-6)
                             or value / 100 in (round(right, 2), round(right, 3))):
        return verdict(False, f"That is a percentage ({value:g} %); give a probability, a fraction between 0 and 1.")
    if not 0 <= value <= 1:
        added = (f" (Adding {slow:g} once per shard counts queries with two slow shards twice.)"
                 if math.isclose(value, slow * n_shards, rel_tol=1e-3) else "")
        return verdict(False, f"A probability lies between 0 and 1; you have {value:g}.{added}")
    for shards in (n_shards - 1, n_shards + 1):
        if math.isclose(value, 1 - quantile**shards, rel_tol=1e-6):
            return verdict(False, f"That is 1 − {quantile:g}^{shards}: count every one of the {n_shards} shards.")
    if math.isclose(value, -math.expm1(-n_shards * slow), rel_tol=1e-6):
        return verdict(False, f"1 − e^(−{n_shards} × {slow:g}) is an approximation; compute the exact chance, "
                           f"1 − {quantile:g}^{n_shards}.")
    if math.isclose(value, 1.0, rel_tol=1e-9) and math.isclose(slow * n_shards, 1.0, rel_tol=1e-9):
        return verdict(False, f"1 would mean every query waits for a slow shard. Adding {slow:g} per shard gives "
                           f"that, and so does 1 − {slow:g}^{n_shards}; start from the chance that one shard is "
                           f"fast, {quantile:g}.")
    if math.isclose(value, quantile**n_shards, rel_tol=1e-3, abs_tol=1e-9):
        return verdict(False, f"That is {quantile:g}^{n_shards}, the chance that *every* shard is fast; the "
                           "question asks for at least one slow shard: 1 minus that.")
    if slow * n_shards <= 1 and math.isclose(value, slow * n_shards, rel_tol=1e-3):
        return verdict(False, f"{slow:g} × {n_shards} adds the shards' chances, which counts queries with several "
                           f"slow shards more than once (and passes 1 beyond {1 / slow:.0f} shards). "
                           f"Compute the chance that all are fast, {quantile:g}^n, and take 1 minus it.")
    if math.isclose(value, slow, rel_tol=1e-3):
        return verdict(False, f"{slow:g} is the chance for *one* shard; the query waits for all {n_shards}.")
    if math.isclose(value, 1 - slow**n_shards, rel_tol=1e-6, abs_tol=1e-12):
        return verdict(False, f"1 − {slow:g}^n is the chance that not *every* shard is slow. Start from the chance "
                           f"that one shard is fast, {quantile:g}.")
    return verdict(False, f"Not quite: the chance that one shard is fast is {quantile:g}; all {n_shards} are fast "
                       f"with probability {quantile:g}^{n_shards} (independent shards); at least one is slow "
                       "otherwise.")


# ------------------------------------------------------------------------ exercise 3


def machines_for_gallery(n_shards: object, n_machines: object, *, n_faces: float, bytes_per_face: float,
                         machine_bytes: float, replication: int) -> Feedback:
    """Exercise 3: shards and machines to hold ``n_faces`` in RAM at ``bytes_per_face`` (measured on
    a worker), ``machine_bytes`` of index memory per machine, ``replication`` copies of each shard."""
    if n_faces <= 0 or bytes_per_face <= 0 or machine_bytes <= 0 or replication < 1:
        raise ValueError("need positive sizes and replication >= 1")
    answers = []
    for name, value in (("n_shards", n_shards), ("n_machines", n_machines)):
        if isinstance(value, (bool, np.bool_)):
            return verdict(False, f"{name} must be a whole number, got True/False.")
        if isinstance(value, str):
            return verdict(False, f"{name} must be a number, got a string (remove the quotes).")
        try:
            number = float(value)
        except (TypeError, ValueError):
            return verdict(False, f"{name} must be a number, got {type(value).__name__}.")
        if not number.is_integer():
            return verdict(False, f"{name} = {number:g} is not a whole number: a machine holds a whole shard "
                               "(round the number of shards *up*: math.ceil).")
        answers.append(int(number))
    shards, machines = answers
    right_shards = math.ceil(n_faces * bytes_per_face / machine_bytes)
    right_machines = right_shards * replication
    if shards == right_shards and machines == right_machines:
        total = n_faces * bytes_per_face
        return verdict(True, f"{right_shards} shards of at most {machine_bytes / 1e9:g} GB hold one copy "
                          f"({total / 1e12:.2f} TB); {replication} copies of each need {right_machines} machines and "
                          f"{total * replication / 1e12:.2f} TB of RAM. Replication multiplies memory: it buys "
                          "survival when a machine dies, and more queries per second, not a bigger gallery.")
    wrong_bytes = {
        "512 bytes (the vector alone)": 512.0,
        "520 bytes (lesson 03's figure on paper)": 520.0,
        "the bytes in bits (× 8)": bytes_per_face * 8,
    }
    rounded_down = shards == math.floor(n_faces * bytes_per_face / machine_bytes) and shards != right_shards
    for how, per_face in wrong_bytes.items():
        if per_face != bytes_per_face and shards == math.ceil(n_faces * per_face / machine_bytes):
            also = (f" (or you rounded down: round *up* with math.ceil, {right_shards} with {bytes_per_face:g} bytes)"
                    if rounded_down else "")
            return verdict(False, f"Your shard count fits {how}{also}. Use the bytes per face measured on the "
                               f"worker, {bytes_per_face:g}: a shard also holds each face's id and squared norm.")
    if shards == math.ceil(n_faces * bytes_per_face / (machine_bytes * 1.024**3)) and shards != right_shards:
        return verdict(False, "Your count uses GiB (2^30 bytes) for the machine; the exercise gives GB (10^9 bytes).")
    if rounded_down:
        return verdict(False, f"{shards} shards leave some faces without a machine: round *up* (math.ceil), "
                           f"{right_shards}.")
    if shards == right_shards * replication:
        return verdict(False, "The replicas are copies of the same shards: count shards for one copy of the "
                           f"gallery ({right_shards}), then machines = shards × replication.")
    if shards != right_shards:
        return verdict(False, f"n_shards: one copy of the gallery is n_faces × bytes_per_face bytes; divide by "
                           f"one machine's {machine_bytes / 1e9:g} GB and round up. You have {shards}.")
    if machines == right_shards:
        return verdict(False, f"Right number of shards, but each of them is held {replication} times: "
                           f"machines = shards × replication.")
    return verdict(False, f"Right number of shards; machines should be shards × replication; you have {machines}.")


BEFORE = [
    ConceptQuestion(
        "A gallery is split into 4 shards on 4 machines, and each returns its own 10 nearest faces. To get the "
        "exact 10 nearest faces of the whole gallery, the client …",
        {"a": "keeps the 10 smallest distances among the 40 it received",
         "b": "keeps the 10 faces of the shard that answered first, since that shard is the least busy",
         "c": "averages the four lists' distances face by face, so that every shard counts equally"},
        "a", "each shard's top 10 contains every face of that shard that can be in the global top 10, so the "
             "10 smallest of the 40 are exactly the global top 10."),
    ConceptQuestion(
        "On a laptop with 2 cores, splitting one search over worker processes makes a query …",
        {"a": "about as many times faster as there are workers",
         "b": "little faster, or even slower: the workers share 2 cores and messages between processes take time",
         "c": "exactly twice as fast"},
        "b", "two cores can at best halve the work, and every query pays for messages and waits for the "
             "slowest worker."),
    ConceptQuestion(
        "The gallery sits on 4 machines, one shard each. One machine is down, and a search answers \"no match\". "
        "That answer …",
        {"a": "means the person is not in the gallery",
         "b": "cannot happen: a search service always waits for every machine to answer before it replies, "
              "however long that takes",
         "c": "may have missed the person, whose photos could be in the shard that was not searched"},
        "c", "a search over 3 of 4 shards never looked at a quarter of the gallery; unless it says so, its \"no "
             "match\" looks like evidence it is not."),
]

AFTER = [
    ConceptQuestion(
        "Each shard is slower than its own p99.9 in 0.1 % of searches, independently of the others. A query that "
        "waits for 100 shards meets at least one such slow shard with probability about …",
        {"a": "0.1 %", "b": "10 %", "c": "63 %"},
        "b", "1 − 0.999^100 ≈ 0.095: a slowdown that hits one search in a thousand hits about one query in ten "
             "that fans out to 100 shards."),
    ConceptQuestion(
        "A worker holding 2 of 4 shards dies and there are no replicas. A search service should …",
        {"a": "return the matches from the shards that answered, as usual: three quarters is plenty",
         "b": "fail, or return the partial answer marked as partial with the share of the gallery not searched",
         "c": "wait for the worker to come back, however long that takes"},
        "b", "an unmarked partial answer looks complete: \"no match\" would then be taken as evidence, and a "
             "lookalike may be the top candidate; every wait needs a timeout."),
    ConceptQuestion(
        "Keeping every shard on two workers (replication factor 2) costs …",
        {"a": "twice the gallery's memory",
         "b": "no memory, only network",
         "c": "half the memory, since each worker does less"},
        "a", "each replica is one more full copy of the gallery; it buys completeness when a machine fails."),
    ConceptQuestion(
        "The Dask client code that places the shards and runs the queries moves from this laptop's worker "
        "processes to a cluster of real machines. What changes in it?",
        {"a": "the address of the scheduler it connects to",
         "b": "the function that searches one shard",
         "c": "how the top-k lists are merged"},
        "a", "a Dask client talks to a local cluster or to a scheduler on other machines in the same way; "
             "only the address it connects to changes."),
]


def concepts_before(answers) -> Feedback:
    """The concept questions at the start of lesson 03b."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """The concept questions at the end of lesson 03b."""
    return concept_quiz("after", AFTER, answers)
