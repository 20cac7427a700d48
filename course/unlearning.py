"""Models remember: membership inference, exact unlearning and SISA on face embeddings.

Lesson 04 trains a "who is this?" classifier (scikit-learn logistic regression on the
128-d embeddings) and asks what deleting data does to it.

* :func:`fit_classifier` is the model; :func:`true_class_probability` is what an
  attacker with query access sees.
* Membership inference asks "was this photo in the training set?". Two attacks:
  a global threshold on the model's confidence (:func:`confidence_score`), and a
  LiRA-style attack (Carlini et al. 2022) that compares the target model's confidence
  on each photo with Gaussians fitted to the confidences of *shadow models* trained
  with and without that photo (:func:`shadow_scores`, :func:`lira_scores`).
  :func:`attack_metrics` reports ROC AUC and TPR at a fixed low FPR.
* Unlearning: deleting training rows and retraining from scratch is *exact*;
  :class:`SISA` (Bourtoule et al. 2021) splits training into shards with one model
  each, so forgetting retrains only the shards that held the data.
  :func:`sisa_tradeoff` measures the cost and the accuracy for several shard counts.

All training runs single-threaded (threadpoolctl), which on a shared 2-core machine is
both faster and reproducible.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

#: Confidences are clipped to [EPS, 1 - EPS] before taking logits.
EPS = 1e-12


# --------------------------------------------------------------------------- the model


def fit_classifier(X: ArrayLike, y: ArrayLike, *, C: float = 10.0, seed: int = 0) -> Pipeline:
    """Standardise the embeddings, then multinomial logistic regression (lbfgs, deterministic)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000, random_state=seed))
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # A small SISA shard holds more people than half its photos; scikit-learn then guesses
        # that the integer labels "could represent a regression problem". They are people.
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        model.fit(np.asarray(X, dtype=np.float64), np.asarray(y))
    return model


def true_class_probability(model, X: ArrayLike, y: ArrayLike) -> np.ndarray:
    """The probability the model gives each photo's true person (0 if the model has no such class)."""
    proba = model.predict_proba(np.asarray(X, dtype=np.float64))
    classes = np.asarray(model.classes_)
    y = np.asarray(y)
    column = np.searchsorted(classes, y)
    known = (column < len(classes)) & (classes[np.minimum(column, len(classes) - 1)] == y)
    out = np.zeros(len(y))
    out[known] = proba[np.flatnonzero(known), column[known]]
    return out


def confidence_score(probability: ArrayLike) -> np.ndarray:
    """Logit of the true-class probability, log(p / (1 - p)): the score membership attacks use.

    Carlini et al. (2022) use this scale because it makes the confidences of one photo
    across models roughly Gaussian."""
    p = np.clip(np.asarray(probability, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def member_split(identities: ArrayLike, *, seed: int, fraction: float = 0.5) -> np.ndarray:
    """A training mask that takes ``fraction`` of each person's photos (at least one), at random."""
    identities = np.asarray(identities)
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(identities), bool)
    for person in np.unique(identities):
        rows = np.flatnonzero(identities == person)
        take = max(1, int(round(fraction * len(rows))))
        mask[rng.choice(rows, take, replace=False)] = True
    return mask


# --------------------------------------------------------------------------- attacks


def tpr_at_fpr(scores: ArrayLike, is_member: ArrayLike, fpr: float) -> float:
    """The highest true-positive rate among thresholds whose false-positive rate is at most ``fpr``.

    Higher scores mean "member". With n non-members the smallest non-zero FPR that can
    be measured is 1/n: below that, this is the TPR at FPR = 0."""
    false_pos, true_pos, _ = roc_curve(np.asarray(is_member, bool), np.asarray(scores, dtype=np.float64),
                                       drop_intermediate=False)
    return float(true_pos[false_pos <= fpr + 1e-12].max())


@dataclass(frozen=True)
class AttackResult:
    """How well an attack separates members from non-members."""

    auc: float
    tpr_at_1pct: float
    tpr_at_01pct: float
    n_members: int
    n_nonmembers: int

    @property
    def smallest_fpr(self) -> float:
        """The smallest non-zero FPR measurable with this many non-members (1 / n)."""
        return 1.0 / self.n_nonmembers


def attack_metrics(scores: ArrayLike, is_member: ArrayLike) -> AttackResult:
    """ROC AUC and TPR at FPR 1 % and 0.1 % of a membership attack (higher score = member)."""
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member, bool)
    return AttackResult(
        auc=float(roc_auc_score(is_member, scores)),
        tpr_at_1pct=tpr_at_fpr(scores, is_member, 0.01),
        tpr_at_01pct=tpr_at_fpr(scores, is_member, 0.001),
        n_members=int(is_member.sum()),
        n_nonmembers=int((~is_member).sum()),
    )


@dataclass
class ShadowScores:
    """Confidence scores of every photo under each shadow model, and which photos each one trained on."""

    scores: np.ndarray  # (n_shadows, n_photos)
    trained_on: np.ndarray  # (n_shadows, n_photos) bool


def shadow_scores(X: ArrayLike, y: ArrayLike, *, n_shadows: int, train=None, seed: int = 0) -> ShadowScores:
    """Train ``n_shadows`` models, each on a random half of every person's photos, and score every photo.

    ``train(X, y, seed)`` returns a fitted model (default: :func:`fit_classifier`); pass a
    SISA trainer to attack a SISA model with shadows that are trained the same way."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    train = train or (lambda Xs, ys, s: fit_classifier(Xs, ys, seed=s))
    scores = np.empty((n_shadows, len(y)))
    trained_on = np.empty((n_shadows, len(y)), bool)
    for k in range(n_shadows):
        mask = member_split(y, seed=seed * 1000 + k + 1)
        model = train(X[mask], y[mask], k)
        scores[k] = confidence_score(true_class_probability(model, X, y))
        trained_on[k] = mask
    return ShadowScores(scores, trained_on)


def lira_scores(target_scores: ArrayLike, shadows: ShadowScores) -> np.ndarray:
    """LiRA's likelihood ratio for each photo: log N(t; mu_in, s_in) - log N(t; mu_out, s_out).

    ``mu_in`` / ``mu_out`` are the photo's mean score over shadows that did / did not train
    on it. With few shadows, per-photo variances are unreliable, so one variance per side is
    pooled over all photos (Carlini et al.'s "fixed variance" variant). A photo with no
    in (or out) shadow falls back to the average in (or out) mean."""
    t = np.asarray(target_scores, dtype=np.float64)
    s, inside = shadows.scores, shadows.trained_on
    n_in, n_out = inside.sum(0), (~inside).sum(0)
    mu_in = np.where(n_in > 0, np.where(inside, s, 0).sum(0) / np.maximum(n_in, 1), np.nan)
    mu_out = np.where(n_out > 0, np.where(~inside, s, 0).sum(0) / np.maximum(n_out, 1), np.nan)
    mu_in = np.where(np.isnan(mu_in), np.nanmean(mu_in), mu_in)
    mu_out = np.where(np.isnan(mu_out), np.nanmean(mu_out), mu_out)
    sd_in = max(np.std((s - mu_in)[inside]), 1e-3)
    sd_out = max(np.std((s - mu_out)[~inside]), 1e-3)
    return norm.logpdf(t, mu_in, sd_in) - norm.logpdf(t, mu_out, sd_out)


# --------------------------------------------------------------------------- SISA


class _OneClass:
    """A shard that saw a single person: it always answers that person."""

    def __init__(self, label):
        self.classes_ = np.array([label])

    def predict_proba(self, X):
        return np.ones((len(X), 1))


class SISA:
    """Sharded training (Bourtoule et al. 2021): one model per shard, probabilities averaged.

    Training rows are split at random into ``n_shards`` disjoint shards, each with its
    own :func:`fit_classifier`. The ensemble averages the shards' probabilities over all
    people seen at fit time (a shard gives 0 to people it never saw). :meth:`forget`
    removes rows and retrains only the shards that held them; the result is the model
    the same procedure would have trained without those rows (exact unlearning).
    SISA's *slicing* (checkpoints inside a shard) is left out: it only pays for models
    trained incrementally, like neural networks, not for logistic regression.
    """

    def __init__(self, n_shards: int, *, C: float = 10.0, seed: int = 0) -> None:
        self.n_shards, self.C, self.seed = n_shards, C, seed

    def fit(self, X: ArrayLike, y: ArrayLike) -> SISA:
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y)
        self.classes_ = np.unique(self.y)
        order = np.random.default_rng(self.seed).permutation(len(self.y))
        self.shard_of = np.empty(len(self.y), np.int64)
        self.shard_of[order] = np.arange(len(self.y)) % self.n_shards
        self.active = np.ones(len(self.y), bool)
        self.models = [self._fit_shard(s) for s in range(self.n_shards)]
        return self

    def _fit_shard(self, shard: int):
        rows = np.flatnonzero((self.shard_of == shard) & self.active)
        labels = np.unique(self.y[rows])
        if len(labels) == 0:
            return None
        if len(labels) == 1:
            return _OneClass(labels[0])
        return fit_classifier(self.X[rows], self.y[rows], C=self.C, seed=self.seed)

    def forget(self, rows: ArrayLike) -> int:
        """Remove training rows and retrain the shards that held them; returns samples retrained."""
        rows = np.asarray(rows, dtype=np.int64)
        self.active[rows] = False
        shards = np.unique(self.shard_of[rows])
        for shard in shards:
            self.models[shard] = self._fit_shard(shard)
        return int(sum(((self.shard_of == s) & self.active).sum() for s in shards))

    def shard_sizes(self) -> np.ndarray:
        """Number of active training rows in each shard."""
        return np.bincount(self.shard_of[self.active], minlength=self.n_shards)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        total = np.zeros((len(X), len(self.classes_)))
        for model in self.models:
            if model is not None:
                total[:, np.searchsorted(self.classes_, model.classes_)] += model.predict_proba(X)
        return total / self.n_shards

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def fit_sisa(X: ArrayLike, y: ArrayLike, *, n_shards: int, seed: int = 0) -> SISA:
    """A fitted :class:`SISA` ensemble."""
    return SISA(n_shards, seed=seed).fit(X, y)


# --------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class SisaCost:
    """Cost of forgetting one person, and accuracy, for one number of shards."""

    n_shards: int
    accuracy: float  # on held-out photos, before any forgetting
    samples_retrained: float  # average over people: rows in the shards holding their photos
    seconds: float  # measured wall time to forget one person (varies from run to run)


def sisa_tradeoff(X_train: ArrayLike, y_train: ArrayLike, X_test: ArrayLike, y_test: ArrayLike,
                  shard_counts, *, forget_person: int, seed: int = 0) -> list[SisaCost]:
    """For each shard count: held-out accuracy, samples retrained to forget a person, and time.

    ``samples_retrained`` averages, over every person in the training set, the size of the
    shards that hold any of their photos (after removing them): what :meth:`SISA.forget`
    would retrain. One shard is ordinary training, so its cost is retraining from scratch.
    ``seconds`` is measured by actually forgetting ``forget_person``."""
    y_train = np.asarray(y_train)
    results = []
    for n_shards in shard_counts:
        model = fit_sisa(X_train, y_train, n_shards=n_shards, seed=seed)
        accuracy = float(np.mean(model.predict(X_test) == np.asarray(y_test)))
        sizes = np.bincount(model.shard_of, minlength=n_shards)
        costs = []
        for person in np.unique(y_train):
            rows = y_train == person
            held = np.unique(model.shard_of[rows])
            costs.append(sizes[held].sum() - rows.sum())
        start = time.perf_counter()
        model.forget(np.flatnonzero(y_train == forget_person))
        results.append(SisaCost(n_shards, accuracy, float(np.mean(costs)), time.perf_counter() - start))
    return results


@dataclass(frozen=True)
class MembershipRow:
    """One line of the membership-inference table."""

    model: str
    attack: str
    result: AttackResult
    accuracy: float  # the model's accuracy on held-out photos (its usefulness)


@dataclass
class MembershipExperiment:
    """Everything :func:`membership_experiment` measured."""

    rows: list[MembershipRow]
    is_member: np.ndarray  # photo was in the original training set
    forget: np.ndarray  # photo is in the forget set (a subset of members)
    evaluated: np.ndarray  # photos the attack is scored on: the forget set, and unseen photos of the same people
    n_shadows: int
    n_shards: int

    def table(self) -> str:
        """The rows as aligned text."""
        lines = [f"{'model':<28} {'attack':<10} {'AUC':>5} {'TPR@1%':>7} {'TPR@0.1%':>8} {'acc':>5}"]
        for r in self.rows:
            lines.append(f"{r.model:<28} {r.attack:<10} {r.result.auc:5.2f} {r.result.tpr_at_1pct:7.1%} "
                         f"{r.result.tpr_at_01pct:8.1%} {r.accuracy:5.0%}")
        return "\n".join(lines)


def membership_experiment(X: ArrayLike, y: ArrayLike, *, forget_fraction: float = 0.25, n_shadows: int = 8,
                          n_shards: int = 4, seed: int = 0) -> MembershipExperiment:
    """Membership inference on the forget set, before and after three kinds of deletion.

    Half of each person's photos train the target model. A deletion request then asks
    to remove ``forget_fraction`` of the training photos (say, all photos scraped from
    one platform). The attacks score the forget set (members) against the photos of the
    same people that no model ever trained on (non-members), for: the original model; the model after the
    photos are deleted from storage only (the same model: nothing in it changed);
    retraining from scratch without them; and a SISA ensemble before and after
    forgetting them.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    is_member = member_split(y, seed=seed)
    members = np.flatnonzero(is_member)
    forget = np.zeros(len(y), bool)
    forget[rng.choice(members, int(round(forget_fraction * len(members))), replace=False)] = True
    # Non-members are the unseen photos of the same people: comparing with other people's
    # photos would mix up "was this photo trained on" with "how well is this person known".
    evaluated = forget | (~is_member & np.isin(y, y[forget]))
    keep = is_member & ~forget

    original = fit_classifier(X[is_member], y[is_member], seed=seed)
    retrained = fit_classifier(X[keep], y[keep], seed=seed)
    sisa = fit_sisa(X[is_member], y[is_member], n_shards=n_shards, seed=seed)
    sisa_before = _Frozen(sisa)
    sisa.forget(np.flatnonzero(forget[is_member]))

    mono_shadows = shadow_scores(X, y, n_shadows=n_shadows, seed=seed)
    sisa_shadows = shadow_scores(X, y, n_shadows=n_shadows, seed=seed,
                                 train=lambda Xs, ys, s: fit_sisa(Xs, ys, n_shards=n_shards, seed=s))
    held_out = ~is_member
    rows = []
    for name, model, shadows in [
        ("original model", original, mono_shadows),
        ("data-only deletion", original, mono_shadows),
        ("exact retraining", retrained, mono_shadows),
        (f"SISA ({n_shards} shards), before", sisa_before, sisa_shadows),
        (f"SISA ({n_shards} shards), after", sisa, sisa_shadows),
    ]:
        scores = confidence_score(true_class_probability(model, X, y))
        accuracy = float(np.mean(model.predict(X[held_out]) == y[held_out]))
        labels = forget[evaluated]
        rows.append(MembershipRow(name, "threshold", attack_metrics(scores[evaluated], labels), accuracy))
        rows.append(MembershipRow(name, "LiRA", attack_metrics(lira_scores(scores, shadows)[evaluated], labels),
                                  accuracy))
    return MembershipExperiment(rows, is_member, forget, evaluated, n_shadows, n_shards)


class _Frozen:
    """A copy of a SISA ensemble's predictions at one moment (its shard models are replaced, not mutated)."""

    def __init__(self, sisa: SISA) -> None:
        self.models, self.classes_, self.n_shards = list(sisa.models), sisa.classes_, sisa.n_shards

    predict_proba = SISA.predict_proba
    predict = SISA.predict
