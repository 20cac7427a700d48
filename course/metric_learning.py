"""How embeddings are learned (lesson 02b): from pixels to a metric trained for faces, on synthetic people.

A recogniser is only as good as its distance: two photos of one person must be closer than photos of
two people. This module measures five ways of getting that distance on the same faces, from none
learned at all to dlib's deep network, so the lesson can put them side by side:

* raw pixels and eigenfaces (PCA, unsupervised: it never sees who is who);
* linear metrics learned from labelled people: LDA (Fisherfaces) and scikit-learn's
  Neighbourhood Components Analysis;
* a linear embedding trained here with dlib's own pairwise hinge loss (:func:`pairwise_hinge_loss`,
  :func:`train_linear_embedding`), small enough to train in a second with numpy;
* dlib's ResNet, whose 128-d vectors the data sets already store.

Training people and test people are different people (:func:`load_split`): a face recogniser must
work on faces it never saw, so learning "who is who" on the test people would be cheating.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import data
from .eigenfaces import face_vectors, gallery_probe_split
from .metrics import equal_error_rate, pair_distances, rank_k_identification

#: dlib's ``loss_metric_`` defaults: same-person pairs should be closer than 0.6 - 0.04, different
#: people farther than 0.6 + 0.04 (dlib/dnn/loss_abstract.h).
RADIUS = 0.6
MARGIN = 0.04


@dataclass
class Split:
    """Training people and (different) test people, as face vectors, with dlib's embeddings of the test faces.

    Only images in which dlib found a face are kept, so every method is judged on the same photos.
    """

    train_pixels: np.ndarray
    train_ids: np.ndarray
    test_pixels: np.ndarray
    test_ids: np.ndarray
    test_dlib: np.ndarray
    test_chips: np.ndarray
    test_provenance: list[dict]


def load_split(train: str = "synthetic-crowd", test: str = "synthetic-people") -> Split:
    """Aligned 64 px chips as standardised greyscale vectors: ``train`` people to learn from, ``test`` people to judge on."""
    learn, judge = data.load(train), data.load(test)
    # Identity numbers are labels within one set; the identity seeds say who a person is.
    seeds_learn = {r["identity_seed"] for r in learn.provenance}
    seeds_judge = {r["identity_seed"] for r in judge.provenance}
    if seeds_learn & seeds_judge:
        raise ValueError(f"{len(seeds_learn & seeds_judge)} people are in both {train} and {test}")
    return Split(
        train_pixels=face_vectors(learn.chips[learn.found], crop=1.0),
        train_ids=learn.identities[learn.found],
        test_pixels=face_vectors(judge.chips[judge.found], crop=1.0),
        test_ids=judge.identities[judge.found],
        test_dlib=judge.embeddings[judge.found],
        test_chips=judge.chips[judge.found],
        test_provenance=[record for record, found in zip(judge.provenance, judge.found) if found],
    )


@dataclass(frozen=True)
class Scores:
    """How well an embedding separates people: 1:N rank-1 rate, 1:1 equal error rate and its threshold."""

    rank1: float
    eer: float
    threshold: float


def evaluate(embeddings: np.ndarray, identities: np.ndarray) -> Scores:
    """Rank-1 identification (first photo of each person enrolled, the rest searched) and the EER over all pairs."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    gallery, probes = gallery_probe_split(identities)
    rank1 = rank_k_identification(embeddings[gallery], identities[gallery], embeddings[probes], identities[probes])
    eer, threshold = equal_error_rate(*pair_distances(embeddings, identities))
    return Scores(rank1, eer, threshold)


def pairwise_hinge_loss(distances, same, threshold: float = RADIUS, margin: float = MARGIN) -> np.ndarray:
    """dlib's metric loss, one value per pair: how far each pair is on the wrong side of its target.

    A same-person pair costs ``max(0, d - threshold + margin)``: nothing once it is closer than
    ``threshold - margin``. A pair of different people costs ``max(0, threshold - d + margin)``:
    nothing once it is farther than ``threshold + margin``.
    """
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    return np.where(same, np.maximum(0.0, distances - threshold + margin),
                    np.maximum(0.0, threshold - distances + margin))


@dataclass
class LinearEmbedding:
    """A learned linear map ``x -> W x`` from face features to a ``dim``-d embedding, and how training went."""

    weights: np.ndarray
    history: list[dict] = field(default_factory=list)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Embed each row of ``features``."""
        return np.asarray(features, dtype=np.float64) @ self.weights.T


def _batch_loss_and_gradient(weights, features, identities, threshold, margin):
    """dlib-style batch: every same-person pair, and as many of the worst different-person pairs (hard negatives)."""
    z = features @ weights.T
    diff = z[:, None, :] - z[None, :, :]
    dist = np.sqrt((diff ** 2).sum(-1) + 1e-12)
    upper = np.triu_indices(len(z), k=1)
    d = dist[upper]
    same = (identities[:, None] == identities[None, :])[upper]
    losses = pairwise_hinge_loss(d, same, threshold, margin)
    n_same = int(same.sum())
    negatives = np.flatnonzero(~same)
    hardest = negatives[np.argsort(-losses[negatives], kind="stable")[:n_same]]
    used = np.zeros_like(same)
    used[same] = True
    used[hardest] = True
    n_used = int(used.sum())
    loss = float(losses[used].sum() / n_used)
    # d loss / d distance is +1 for an active same-person pair (pull together), -1 for an active negative.
    slope = np.where(used & (losses > 0), np.where(same, 1.0, -1.0), 0.0) / n_used
    coefficients = np.zeros_like(dist)
    coefficients[upper] = slope / d
    coefficients = coefficients + coefficients.T
    grad_z = coefficients.sum(1)[:, None] * z - coefficients @ z
    return loss, grad_z.T @ features


def _median_distances(embedding: np.ndarray, identities: np.ndarray) -> tuple[float, float]:
    genuine, impostor = pair_distances(embedding, identities)
    return float(np.median(genuine)), float(np.median(impostor))


def train_linear_embedding(features: np.ndarray, identities: np.ndarray, *, dim: int = 32, epochs: int = 40,
                           batches_per_epoch: int = 10, people_per_batch: int = 32, learning_rate: float = 0.02,
                           threshold: float = RADIUS, margin: float = MARGIN, init_scale: float = 0.015, seed: int = 0,
                           watch: tuple[np.ndarray, np.ndarray] | None = None) -> LinearEmbedding:
    """Train ``W`` by gradient descent on dlib's pairwise hinge loss, with dlib's hard-negative mining.

    Each batch takes ``people_per_batch`` people with two photos each. Training starts from a small
    random ``W`` (a random projection: photos of one person only somewhat closer than photos of two
    people), so the learner can watch photos of one person being pulled together and different people
    pushed apart. With ``watch=(features, identities)`` of people not
    trained on, the median same-person and different-person distances are recorded after every epoch.
    """
    features = np.asarray(features, dtype=np.float64)
    identities = np.asarray(identities)
    if features.ndim != 2 or len(features) != len(identities):
        raise ValueError("need a 2-D features array with one identity per row")
    rng = np.random.default_rng(seed)
    photos = {person: np.flatnonzero(identities == person) for person in np.unique(identities)}
    people = np.array([person for person, rows in photos.items() if len(rows) >= 2])
    if len(people) < people_per_batch:
        raise ValueError(f"need at least {people_per_batch} people with two or more photos, got {len(people)}")
    model = LinearEmbedding(rng.standard_normal((dim, features.shape[1])) * init_scale)

    def record(epoch, loss):
        entry = {"epoch": epoch, "loss": loss}
        if watch is not None:
            entry["same_person"], entry["different_people"] = _median_distances(model.transform(watch[0]), watch[1])
        model.history.append(entry)

    record(0, float("nan"))
    for epoch in range(1, epochs + 1):
        losses = []
        for _ in range(batches_per_epoch):
            chosen = rng.choice(people, people_per_batch, replace=False)
            rows = np.concatenate([rng.choice(photos[p], 2, replace=False) for p in chosen])
            loss, gradient = _batch_loss_and_gradient(model.weights, features[rows], identities[rows], threshold, margin)
            model.weights -= learning_rate * gradient
            losses.append(loss)
        record(epoch, float(np.mean(losses)))
    return model


def unit_length(embeddings: np.ndarray) -> np.ndarray:
    """Each row divided by its length, so Euclidean distance between rows ranks pairs as cosine distance does."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
