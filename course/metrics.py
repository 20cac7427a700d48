"""How good is a face recogniser? Verification and identification metrics.

Conventions used throughout (the same as ``face_recognition``):

* Faces are compared by the **Euclidean distance** between their embeddings.
  Smaller means more similar.
* Two faces are declared a **match** when ``distance <= threshold``.
* A *genuine* distance compares two photos of the same person, an *impostor*
  distance two photos of different people. Most functions take the two groups
  as separate 1-D arrays, ``genuine`` and ``impostor``.

Verification (1:1, "are these two photos the same person?"):

* FMR, false match rate: fraction of impostor pairs wrongly declared a match.
* FNMR, false non-match rate: fraction of genuine pairs wrongly rejected.

Identification (1:N, "who in the gallery is this?") is measured per *probe*
(a query photo) against a *gallery* of enrolled photos; see
:func:`identification_ranks` and :func:`fpir_fnir`. These compare every probe
with every gallery photo, which suits evaluation sets of thousands of faces;
searching millions is the subject of :mod:`course.search`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.distance import cdist, pdist
from scipy.stats import norm, rankdata

FloatArray = NDArray[np.float64]


def _distances(values: ArrayLike, name: str) -> FloatArray:
    """Check that ``values`` is a non-empty 1-D array of finite distances."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of distances, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: need at least one {name} distance")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite distances")
    return array


# --- Verification (1:1) ----------------------------------------------------------------


def pair_distances(embeddings: ArrayLike, identities: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Split the distances between all pairs of faces into genuine and impostor groups.

    Every unordered pair ``(i, j)`` with ``i < j`` is compared once (the upper
    triangle of the distance matrix). Memory grows with the number of pairs,
    n(n-1)/2, so this is meant for evaluation sets of a few thousand faces.

    Args:
        embeddings: array of shape (n_faces, dim).
        identities: one label per face (any type that compares with ``==``).

    Returns:
        ``(genuine, impostor)``: distances of same-identity pairs and of
        different-identity pairs, in the order of the upper triangle.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    identities = np.asarray(identities)
    if embeddings.ndim != 2 or len(embeddings) != len(identities):
        raise ValueError("need a 2-D embeddings array with one identity per row")
    if len(embeddings) < 2:
        raise ValueError("need at least two faces to form a pair")
    distances = pdist(embeddings)  # condensed upper triangle, same order as triu_indices
    first, second = np.triu_indices(len(embeddings), k=1)
    same_person = identities[first] == identities[second]
    return distances[same_person], distances[~same_person]


def fmr_fnmr(
    genuine: ArrayLike, impostor: ArrayLike, thresholds: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """False match rate and false non-match rate at each threshold.

    FMR(t) = fraction of impostor distances <= t (different people accepted).
    FNMR(t) = fraction of genuine distances > t (the same person rejected).

    Returns:
        ``(fmr, fnmr)``, arrays shaped like ``thresholds``.
    """
    genuine = np.sort(_distances(genuine, "genuine"))
    impostor = np.sort(_distances(impostor, "impostor"))
    thresholds = np.asarray(thresholds, dtype=np.float64)
    # searchsorted(..., side="right") counts how many sorted values are <= t.
    fmr = np.searchsorted(impostor, thresholds, side="right") / len(impostor)
    fnmr = 1.0 - np.searchsorted(genuine, thresholds, side="right") / len(genuine)
    return fmr, fnmr


def roc_curve_from_distances(
    genuine: ArrayLike, impostor: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ROC curve of a distance-based matcher: one point per distinct threshold.

    The curve starts at threshold ``-inf`` (nothing matches: FPR = TPR = 0) and
    then visits every distinct distance in increasing order, ending where
    everything matches (FPR = TPR = 1). FPR is the FMR and TPR is 1 - FNMR.

    This equals scikit-learn's ``roc_curve(labels, -distances,
    drop_intermediate=False)`` with the thresholds negated.

    Returns:
        ``(fpr, tpr, thresholds)`` with thresholds in increasing order.
    """
    genuine = _distances(genuine, "genuine")
    impostor = _distances(impostor, "impostor")
    thresholds = np.concatenate([[-np.inf], np.unique(np.concatenate([genuine, impostor]))])
    fmr, fnmr = fmr_fnmr(genuine, impostor, thresholds)
    return fmr, 1.0 - fnmr, thresholds


def roc_auc(genuine: ArrayLike, impostor: ArrayLike) -> float:
    """Area under the ROC curve.

    It equals the probability that a randomly chosen genuine pair is closer than
    a randomly chosen impostor pair (ties count one half), which is how it is
    computed here: from the ranks of all distances (the Mann-Whitney U statistic).
    """
    genuine = _distances(genuine, "genuine")
    impostor = _distances(impostor, "impostor")
    ranks = rankdata(np.concatenate([genuine, impostor]))  # ties get their average rank
    impostor_rank_sum = ranks[len(genuine) :].sum()
    # Number of (genuine, impostor) pairs where the impostor is farther, ties halved.
    impostor_farther = impostor_rank_sum - len(impostor) * (len(impostor) + 1) / 2
    return float(impostor_farther / (len(genuine) * len(impostor)))


def det_curve(
    genuine: ArrayLike, impostor: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Detection error trade-off curve: FMR against FNMR for every threshold.

    Only the informative part is kept: from the largest threshold that still has
    FMR = 0 to the smallest that reaches FNMR = 0 (beyond those, one of the rates
    is 0 and the point would sit at minus infinity on probit axes). This matches
    scikit-learn's ``det_curve`` on ``-distances``, but ordered by increasing
    threshold. Plot it on normal-deviate axes with :func:`probit`.

    Returns:
        ``(fmr, fnmr, thresholds)`` with thresholds in increasing order.
    """
    fmr, tpr, thresholds = roc_curve_from_distances(genuine, impostor)
    fnmr = 1.0 - tpr
    first = np.flatnonzero(fmr == 0.0)[-1]  # last threshold with no false match
    last = np.flatnonzero(fnmr == 0.0)[0]  # first threshold with no false non-match
    keep = slice(first, last + 1)
    return fmr[keep], fnmr[keep], thresholds[keep]


def probit(rate: ArrayLike) -> FloatArray:
    """Map error rates to normal deviates, the axis scale of DET plots.

    On probit axes, rates from two normal distance distributions fall on a
    straight line, and 0.1 %, 1 % and 10 % are spread out legibly. Rates of 0
    and 1 map to -inf and +inf (matplotlib leaves those points out). Example::

        fmr, fnmr, _ = det_curve(genuine, impostor)
        ax.plot(probit(fmr), probit(fnmr))
        ticks = [0.001, 0.01, 0.05, 0.2, 0.5]
        ax.set_xticks(probit(ticks), [f"{t:.1%}" for t in ticks])
    """
    return norm.ppf(np.asarray(rate, dtype=np.float64))


def equal_error_rate(genuine: ArrayLike, impostor: ArrayLike) -> tuple[float, float]:
    """The error rate at which FMR equals FNMR, and the threshold where that happens.

    With finitely many pairs, FMR and FNMR are step functions and rarely equal
    exactly. The operating points of two neighbouring thresholds are joined by a
    straight line (any point on it is reachable by choosing randomly between the
    two thresholds), and the EER is where that line crosses FMR = FNMR. The
    returned threshold is interpolated between the two neighbouring thresholds
    in the same proportion, so it is an indication, not a guarantee.

    Returns:
        ``(eer, threshold)``.
    """
    fmr, tpr, thresholds = roc_curve_from_distances(genuine, impostor)
    gap = (1.0 - tpr) - fmr  # FNMR - FMR: starts at 1, ends at -1, never increases
    after = int(np.flatnonzero(gap <= 0.0)[0])  # first point at or past the crossing
    if gap[after] == 0.0:
        return float(fmr[after]), float(thresholds[after])
    before = after - 1
    fraction = gap[before] / (gap[before] - gap[after])
    eer = fmr[before] + fraction * (fmr[after] - fmr[before])
    # The point before may be the "-inf" start of the curve; nothing is below the data.
    lower = thresholds[before] if before > 0 else thresholds[after]
    threshold = lower + fraction * (thresholds[after] - lower)
    return float(eer), float(threshold)


def threshold_for_fmr(impostor: ArrayLike, target_fmr: float) -> float:
    """The largest threshold whose false match rate does not exceed ``target_fmr``.

    This is how operators choose a threshold: fix the FMR they can tolerate on
    impostor pairs, then accept whatever FNMR follows. With m = the number of
    impostor distances allowed to match, the threshold sits just below the
    (m+1)-th smallest impostor distance. Returns ``inf`` when every impostor may
    match (``target_fmr`` = 1).

    Note the resolution limit: with n impostor pairs the smallest non-zero FMR
    you can measure is 1/n.
    """
    impostor = np.sort(_distances(impostor, "impostor"))
    if not 0.0 <= target_fmr <= 1.0:
        raise ValueError(f"target_fmr must be between 0 and 1, got {target_fmr}")
    achievable_fmrs = np.arange(len(impostor) + 1) / len(impostor)  # 0, 1/n, ..., 1
    allowed_matches = int(np.searchsorted(achievable_fmrs, target_fmr, side="right")) - 1
    if allowed_matches == len(impostor):
        return float("inf")
    return float(np.nextafter(impostor[allowed_matches], -np.inf))


# --- Identification (1:N) -------------------------------------------------------------


def _distance_to_each_identity(
    gallery_embs: ArrayLike, gallery_ids: ArrayLike, probe_embs: ArrayLike
) -> tuple[FloatArray, np.ndarray]:
    """Distance from every probe to the nearest gallery photo of every identity.

    Returns:
        ``(distances, identities)``: ``distances[p, i]`` is the distance from
        probe ``p`` to the closest enrolled photo of ``identities[i]``.
    """
    gallery_embs = np.asarray(gallery_embs, dtype=np.float64)
    probe_embs = np.asarray(probe_embs, dtype=np.float64)
    identities, gallery_codes = np.unique(np.asarray(gallery_ids), return_inverse=True)
    if len(gallery_codes) == 0 or len(probe_embs) == 0:
        raise ValueError("need a non-empty gallery and at least one probe")
    if len(gallery_codes) != len(gallery_embs):
        raise ValueError("need exactly one gallery identity per gallery embedding")
    distances = cdist(probe_embs, gallery_embs)
    # Group the gallery columns by identity, then take the minimum within each group.
    order = np.argsort(gallery_codes, kind="stable")
    group_starts = np.searchsorted(gallery_codes[order], np.arange(len(identities)))
    return np.minimum.reduceat(distances[:, order], group_starts, axis=1), identities


def _rank_of_true_identity(
    distances: FloatArray, identities: np.ndarray, probe_ids: np.ndarray
) -> tuple[NDArray[np.int64], FloatArray]:
    """Rank of, and distance to, each probe's own identity (all probes must be enrolled).

    Ties count against the true identity: an identity exactly as close is ranked ahead.
    """
    true_column = np.searchsorted(identities, probe_ids)
    true_distance = distances[np.arange(len(distances)), true_column]
    return (distances <= true_distance[:, None]).sum(axis=1), true_distance


def _probe_ids(probe_ids: ArrayLike, n_probes: int) -> np.ndarray:
    """Check there is one identity label per probe."""
    probe_ids = np.asarray(probe_ids)
    if len(probe_ids) != n_probes:
        raise ValueError("need exactly one probe identity per probe embedding")
    return probe_ids


def identification_ranks(
    gallery_embs: ArrayLike, gallery_ids: ArrayLike, probe_embs: ArrayLike, probe_ids: ArrayLike
) -> NDArray[np.int64]:
    """Rank of the true identity in each probe's candidate list (1 = top candidate).

    Identities are ranked by their closest gallery photo, so a person enrolled
    with several photos occupies one rank. Ties count against the true identity
    (an identity exactly as close as the true one is ranked ahead of it).
    This is closed-set identification: every probe's identity must be enrolled.
    """
    distances, identities = _distance_to_each_identity(gallery_embs, gallery_ids, probe_embs)
    probe_ids = _probe_ids(probe_ids, len(distances))
    enrolled = np.isin(probe_ids, identities)
    if not enrolled.all():
        missing = np.unique(probe_ids[~enrolled])[:5].tolist()
        raise ValueError(f"probe identities not in the gallery (closed-set metric): {missing}")
    return _rank_of_true_identity(distances, identities, probe_ids)[0]


def rank_k_identification(
    gallery_embs: ArrayLike,
    gallery_ids: ArrayLike,
    probe_embs: ArrayLike,
    probe_ids: ArrayLike,
    k: int = 1,
) -> float:
    """Fraction of probes whose true identity is among the top ``k`` candidates.

    Rank-1 identification rate is the headline figure of 1:N benchmarks.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ranks = identification_ranks(gallery_embs, gallery_ids, probe_embs, probe_ids)
    return float(np.mean(ranks <= k))


def cmc_curve(
    gallery_embs: ArrayLike,
    gallery_ids: ArrayLike,
    probe_embs: ArrayLike,
    probe_ids: ArrayLike,
    max_rank: int | None = None,
) -> tuple[NDArray[np.int64], FloatArray]:
    """Cumulative match characteristic: rank-k identification rate for k = 1, 2, ...

    Returns:
        ``(ranks, rates)`` where ``rates[i]`` is the rank-``ranks[i]``
        identification rate. ``max_rank`` defaults to the number of identities.
    """
    candidate_ranks = identification_ranks(gallery_embs, gallery_ids, probe_embs, probe_ids)
    if max_rank is None:
        max_rank = len(np.unique(np.asarray(gallery_ids)))
    if max_rank < 1:
        raise ValueError(f"max_rank must be at least 1, got {max_rank}")
    ranks = np.arange(1, max_rank + 1)
    rates = np.mean(candidate_ranks[:, None] <= ranks[None, :], axis=0)
    return ranks, rates


def fpir_fnir(
    gallery_embs: ArrayLike,
    gallery_ids: ArrayLike,
    probe_embs: ArrayLike,
    probe_ids: ArrayLike,
    threshold: ArrayLike,
    rank: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """Open-set identification errors: what a real 1:N search system gets wrong.

    In an open set, many probes are of people who are not enrolled. The system
    returns candidates only when their distance is ``<= threshold``.

    * FPIR, false positive identification rate: fraction of probes whose
      identity is *not* enrolled that still get at least one candidate.
    * FNIR, false negative identification rate: fraction of probes whose
      identity *is* enrolled for which that identity is not returned within
      the top ``rank`` candidates at or under the threshold.

    ``threshold`` may be an array, to trace the trade-off curve.

    Returns:
        ``(fpir, fnir)``, shaped like ``threshold``.
    """
    distances, identities = _distance_to_each_identity(gallery_embs, gallery_ids, probe_embs)
    probe_ids = _probe_ids(probe_ids, len(distances))
    threshold = np.asarray(threshold, dtype=np.float64)
    enrolled = np.isin(probe_ids, identities)
    if enrolled.all():
        raise ValueError("FPIR needs at least one probe whose identity is not enrolled")
    if not enrolled.any():
        raise ValueError("FNIR needs at least one probe whose identity is enrolled")

    nearest_to_stranger = distances[~enrolled].min(axis=1)
    fpir = np.mean(nearest_to_stranger[:, None] <= threshold.ravel()[None, :], axis=0)

    true_rank, true_distance = _rank_of_true_identity(
        distances[enrolled], identities, probe_ids[enrolled]
    )
    found = (true_rank <= rank)[:, None] & (true_distance[:, None] <= threshold.ravel()[None, :])
    fnir = 1.0 - np.mean(found, axis=0)
    return fpir.reshape(threshold.shape), fnir.reshape(threshold.shape)


# --- Uncertainty -------------------------------------------------------------------


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score confidence interval for a proportion such as an FMR.

    Unlike the textbook "p ± 1.96 sqrt(p(1-p)/n)", it stays inside [0, 1] and
    gives a useful upper bound when no errors were observed: 0 false matches in
    10 comparisons still allows an FMR up to about 28 % at 95 % confidence.
    Works element-wise on arrays (e.g. one count per demographic group).

    Returns:
        ``(lower, upper)`` bounds.
    """
    successes = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if np.any(n <= 0):
        raise ValueError("n must be positive: a rate over zero trials is undefined")
    if np.any((successes < 0) | (successes > n)):
        raise ValueError("successes must be between 0 and n")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    z = norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half_width = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    # At 0 and n successes the bound is exactly 0 or 1; avoid rounding residue there.
    lower = np.where(successes == 0, 0.0, centre - half_width)
    upper = np.where(successes == n, 1.0, centre + half_width)
    return lower, upper
