"""Demographic differentials: false match rates per group at one global threshold (lesson 02).

NIST found that most face recognition algorithms make more false matches for some
demographic groups than for others (NISTIR 8280, 2019). This module measures the
same thing on whatever groups a data set records, with honest uncertainty: group
sizes are stated, every rate has a confidence interval, and a bootstrap over
*people* (not pairs) shows how little a small group can prove.

It also makes a clearly labelled synthetic stand-in (:func:`synthetic_groups`): two
groups of synthetic people, one of which the generator makes less varied, which is
one mechanism that produces such differentials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import faces
from .metrics import wilson_interval


@dataclass
class GroupRate:
    """False matches among impostor pairs within one group, at one threshold."""

    group: str
    people: int
    impostor_pairs: int
    false_matches: int
    fmr: float
    low: float
    high: float


def within_group_impostor_distances(embeddings: np.ndarray, identities: np.ndarray) -> np.ndarray:
    """Distances between every pair of faces of *different* people in one group."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    identities = np.asarray(identities)
    i, j = np.triu_indices(len(embeddings), k=1)
    different = identities[i] != identities[j]
    return np.linalg.norm(embeddings[i[different]] - embeddings[j[different]], axis=1)


def false_match_rates_by_group(
    embeddings: np.ndarray,
    identities: np.ndarray,
    groups: np.ndarray,
    threshold: float,
    *,
    confidence: float = 0.95,
) -> list[GroupRate]:
    """FMR within each group at one global threshold, with Wilson intervals over pairs.

    Only pairs of two different people *of the same group* are counted, as in NIST's
    "same-demographic" impostor comparisons. The Wilson interval treats pairs as
    independent, which they are not (each person appears in many pairs), so it is
    too narrow for small groups; :func:`bootstrap_fmr_over_people` is the honest check.
    """
    groups = np.asarray(groups)
    rows = []
    for group in sorted(set(groups.tolist())):
        members = groups == group
        impostor = within_group_impostor_distances(embeddings[members], identities[members])
        if len(impostor) == 0:
            continue
        hits = int(np.sum(impostor <= threshold))
        low, high = wilson_interval(hits, len(impostor), confidence)
        rows.append(GroupRate(str(group), len(set(identities[members].tolist())), len(impostor), hits,
                              hits / len(impostor), float(low), float(high)))
    return rows


def bootstrap_fmr_over_people(
    embeddings: np.ndarray,
    identities: np.ndarray,
    threshold: float,
    *,
    n_resamples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval for one group's FMR, resampling *people* with replacement.

    Resampling people keeps every person's photos together, so the interval reflects
    how much the rate depends on which few people happen to be in the group.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    identities = np.asarray(identities)
    people = np.unique(identities)
    rng = np.random.default_rng(seed)
    distances = np.linalg.norm(embeddings[:, None, :] - embeddings[None, :, :], axis=2)
    rows_of = {person: np.flatnonzero(identities == person) for person in people}
    rates = []
    for _ in range(n_resamples):
        sample = rng.choice(people, size=len(people), replace=True)
        index = np.concatenate([rows_of[p] for p in sample])
        owner = np.concatenate([np.full(len(rows_of[p]), k) for k, p in enumerate(sample)])
        i, j = np.triu_indices(len(index), k=1)
        different = owner[i] != owner[j]
        # the same person drawn twice is still one person: skip pairs of identical identities
        different &= identities[index[i]] != identities[index[j]]
        if different.any():
            rates.append(np.mean(distances[index[i[different]], index[j[different]]] <= threshold))
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(rates, tail)), float(np.percentile(rates, 100 - tail))


def format_table(rows: list[GroupRate], threshold: float) -> str:
    """A plain-text table of per-group false match rates (for printing in a notebook)."""
    lines = [f"false matches within each group at threshold {threshold:.2f}",
             f"{'group':<14}{'people':>7}{'impostor pairs':>16}{'false matches':>15}{'FMR':>9}   95% interval"]
    for r in rows:
        lines.append(f"{r.group:<14}{r.people:>7}{r.impostor_pairs:>16}{r.false_matches:>15}"
                     f"{r.fmr:>9.2%}   {r.low:.2%} – {r.high:.2%}")
    return "\n".join(lines)


def synthetic_groups(
    spreads: dict[str, float],
    n_identities: int,
    per_identity: int,
    *,
    seed: int = 0,
    size: int = 256,
    max_yaw: float = 15,
) -> faces.SyntheticFaces:
    """Synthetic people in labelled groups; a group with spread < 1 is made *less varied*.

    Each group draws its own identities; their identity vectors are then pulled towards
    the centre of the parameter range by the group's spread (1 = as varied as usual,
    0.5 = half as varied). This is a *simulation* of one mechanism behind demographic
    differentials (a recogniser that separates some people less well), not a model of
    any real population. Provenance records the group and its spread.
    """
    images, identities, provenance = [], [], []
    for g, (group, spread) in enumerate(sorted(spreads.items())):
        people = faces.synthetic_faces(n_identities, per_identity, seed=seed + 7919 * (g + 1), size=size,
                                       max_yaw=max_yaw)
        for image, identity, record in zip(people.images, people.identities, people.provenance):
            if spread != 1.0:
                vector = shrink_identity(faces.identity_parameters(record["identity_seed"]), spread)
                image, _ = faces.render_face(vector, view_seed=record["view_seed"], size=size, max_yaw=max_yaw)
            images.append(image)
            identities.append(g * n_identities + int(identity))
            provenance.append({**record, "identity": identities[-1], "group": group, "identity_spread": spread})
    return faces.SyntheticFaces(np.stack(images), np.asarray(identities), provenance)


def shrink_identity(identity: np.ndarray, spread: float) -> np.ndarray:
    """Pull an identity vector towards the middle of the [0, 1] parameter range by ``spread``."""
    return 0.5 + spread * (np.asarray(identity) - 0.5)


def consented_group_rates(consented, threshold: float = 0.6, *, attribute: str = "ethnicity",
                          progress: bool = False) -> list[GroupRate]:
    """Per-group FMR on a consented set (e.g. ``data.load_consented("london")``), grouped by a
    self-reported attribute of its metadata. Images are embedded (and cached) with course.embed;
    images without exactly one detected face are left out."""
    from . import embed

    images = [consented.image(i) for i in range(len(consented.paths))]
    batch = embed.embed_batch(images, consented.provenance, progress=progress)
    subjects = np.array([row["subject_id"] for row in consented.metadata])
    groups = np.array([row[attribute] for row in consented.metadata])
    found = batch.found
    return false_match_rates_by_group(batch.vectors[found], subjects[found], groups[found], threshold)
