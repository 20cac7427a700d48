"""Differential privacy against membership inference: the lesson 04 classifier trained with DP-SGD.

A training algorithm is (epsilon, delta)-differentially private when adding or removing
any one photo changes the probability of every possible trained model by at most a
factor e^epsilon (plus a small slack delta). A membership attack then cannot be much
better than a coin that knows that bound: at false-positive rate f its true-positive
rate is at most e^epsilon * f + delta.

The model is the same "who is this?" classifier as :mod:`course.unlearning` (multinomial
logistic regression on the 128-d embeddings), trained by DP-SGD (Abadi et al. 2016):
each step samples photos at random (Poisson sampling), clips each photo's gradient to a
fixed norm, adds Gaussian noise, and takes a step. Google's ``dp_accounting`` (its RDP
accountant) turns (sampling rate, noise, steps) into epsilon; :func:`noise_multiplier`
asks it for the noise that gives a target epsilon.

IBM's ``diffprivlib`` was the first choice; its 0.6.6 release does not import with the
scikit-learn the course locks (1.9: ``sklearn.tree._tree.DOUBLE`` is gone), so DP-SGD is
written here in numpy, with the privacy accounting left to a maintained library.

The features are scaled with a mean and spread measured on *another* set of synthetic
people (``synthetic-crowd``), never on the training photos, so the scaling itself
reveals nothing about them.

:func:`epsilon_sweep` trains the classifier at several epsilons and attacks each one
with LiRA, whose shadow models are trained by the same DP algorithm at the same epsilon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from threadpoolctl import threadpool_limits

from . import unlearning
from .metrics import wilson_interval

#: delta of (epsilon, delta)-DP: below 1 / (number of training photos, a few hundred).
DELTA = 1e-5
#: Renyi orders the accountant tries: whole numbers, which it computes exactly (fractional ones may not converge).
RDP_ORDERS = tuple(range(2, 65)) + (80, 96, 128, 192, 256, 512)
#: The epsilons the lesson sweeps. ``math.inf`` is the same DP-SGD (sampling, clipping) without noise,
#: which separates what the noise does from what the training recipe does; ``None`` is the lesson's
#: ordinary (non-private) model, :func:`course.unlearning.fit_classifier`.
DEFAULT_EPSILONS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, math.inf, None)


@dataclass(frozen=True)
class DpSgd:
    """DP-SGD's settings. Privacy depends on sample_rate, steps and the noise (from epsilon), not on the rest."""

    epochs: int = 20
    batch_size: int = 128  # expected photos per step (Poisson sampling)
    clip: float = 1.0  # each photo's gradient is scaled down to at most this L2 norm
    learning_rate: float = 8.0

    def sample_rate(self, n: int) -> float:
        return min(1.0, self.batch_size / n)

    def steps(self, n: int) -> int:
        return int(math.ceil(self.epochs * n / self.batch_size))


def _check_epsilon(epsilon: object) -> float:
    """An epsilon > 0 (``math.inf``: the same DP-SGD with no noise, so no guarantee), or a clear error."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)):
        raise TypeError(f"epsilon must be a number > 0, got {type(epsilon).__name__} {epsilon!r}")
    value = float(epsilon)
    if math.isnan(value) or value <= 0:
        raise ValueError(f"epsilon must be a number > 0 (smaller = more private), got {epsilon!r}; "
                         "math.inf trains the same DP-SGD without noise, None the lesson's ordinary model")
    return value


def noise_multiplier(epsilon: float, *, sample_rate: float, steps: int, delta: float = DELTA) -> float:
    """The Gaussian noise (in units of the clipping norm) that makes DP-SGD (epsilon, delta)-DP.

    Asked of ``dp_accounting``'s RDP accountant for ``steps`` Poisson-sampled Gaussian steps."""
    epsilon = _check_epsilon(epsilon)
    if math.isinf(epsilon):
        return 0.0
    return _calibrated_noise(epsilon, float(sample_rate), int(steps), float(delta))


@lru_cache(maxsize=64)
def _calibrated_noise(epsilon: float, sample_rate: float, steps: int, delta: float) -> float:
    import dp_accounting

    return float(dp_accounting.calibrate_dp_mechanism(
        _accountant, lambda sigma: _dp_sgd_event(sigma, sample_rate, steps), epsilon, delta))


def _accountant():
    import dp_accounting

    return dp_accounting.rdp.RdpAccountant(orders=list(RDP_ORDERS))


def _dp_sgd_event(sigma: float, sample_rate: float, steps: int):
    import dp_accounting

    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(sample_rate, dp_accounting.GaussianDpEvent(sigma)), steps)


def spent_epsilon(sigma: float, *, sample_rate: float, steps: int, delta: float = DELTA) -> float:
    """The epsilon that ``dp_accounting`` certifies for DP-SGD with this noise (a check of :func:`noise_multiplier`)."""
    accountant = _accountant()
    accountant.compose(_dp_sgd_event(sigma, sample_rate, steps))
    return float(accountant.get_epsilon(delta))


def tpr_bound(epsilon: float, fpr: float, delta: float = DELTA) -> float:
    """The most any membership attack can achieve against an (epsilon, delta)-DP model: TPR <= e^epsilon * FPR + delta.

    It follows from the definition: "the attack says member" is one possible outcome, so its
    probability with a photo in the training set is at most e^epsilon times its probability
    without it, plus delta. Capped at 1 (a large epsilon promises nothing)."""
    epsilon = _check_epsilon(epsilon)
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float, np.integer, np.floating)) or not 0 <= fpr <= 1:
        raise ValueError(f"fpr is a false-positive rate between 0 and 1, got {fpr!r}")
    if math.isinf(epsilon) or epsilon > 700:  # e^700 overflows a float; the bound is 1 long before
        return 1.0
    return float(min(1.0, math.exp(epsilon) * fpr + delta))


def public_scaling() -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the embeddings of *other* synthetic people (synthetic-crowd)."""
    from . import data

    crowd = data.load("synthetic-crowd")
    X = crowd.embeddings[np.flatnonzero(crowd.found)].astype(np.float64)
    return X.mean(0), X.std(0)


def _features(X: ArrayLike, scaling: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Scale with public statistics, bring each row to norm <= 1, and append a constant 1 (the intercept)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(scaling[0]):
        raise ValueError(f"need a 2-D array of {len(scaling[0])}-d embeddings, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("the embeddings contain NaN or infinite values")
    Z = (X - scaling[0]) / scaling[1] / math.sqrt(X.shape[1])
    Z /= np.maximum(1.0, np.linalg.norm(Z, axis=1, keepdims=True))
    return np.hstack([Z, np.ones((len(Z), 1))])


class PrivateClassifier:
    """Multinomial logistic regression trained by DP-SGD; ``predict_proba`` / ``predict`` like scikit-learn."""

    def __init__(self, epsilon: float, *, settings: DpSgd = DpSgd(), seed: int = 0,
                 scaling: tuple[np.ndarray, np.ndarray] | None = None, delta: float = DELTA) -> None:
        self.epsilon = _check_epsilon(epsilon)
        self.settings, self.seed, self.delta = settings, seed, delta
        self.scaling = scaling if scaling is not None else public_scaling()

    def fit(self, X: ArrayLike, y: ArrayLike) -> PrivateClassifier:
        Z = _features(X, self.scaling)
        y = np.asarray(y)
        if len(y) != len(Z) or len(y) < 2:
            raise ValueError(f"need one label per embedding and at least two photos, got {len(Z)} and {len(y)}")
        self.classes_, labels = np.unique(y, return_inverse=True)
        n, s = len(y), self.settings
        q, steps = s.sample_rate(n), s.steps(n)
        self.noise = noise_multiplier(self.epsilon, sample_rate=q, steps=steps, delta=self.delta)
        rng = np.random.default_rng(self.seed)
        W = np.zeros((Z.shape[1], len(self.classes_)))
        onehot = np.eye(len(self.classes_))[labels]
        with threadpool_limits(limits=1):
            for _ in range(steps):
                batch = np.flatnonzero(rng.random(n) < q)
                gradient = rng.normal(0.0, self.noise * s.clip, W.shape)  # the noise, then the clipped sum
                if len(batch):
                    residual = _softmax(Z[batch] @ W) - onehot[batch]
                    # A photo's gradient is the outer product z r^T; its norm is |z| |r|.
                    norms = np.linalg.norm(Z[batch], axis=1) * np.linalg.norm(residual, axis=1)
                    scale = 1.0 / np.maximum(1.0, norms / s.clip)
                    gradient += Z[batch].T @ (residual * scale[:, None])
                W -= s.learning_rate * gradient / (q * n)
        self.coef_ = W
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        with threadpool_limits(limits=1):
            return _softmax(_features(X, self.scaling) @ self.coef_)

    def predict(self, X: ArrayLike) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def fit_private(X: ArrayLike, y: ArrayLike, *, epsilon: float | None, seed: int = 0,
                settings: DpSgd = DpSgd(), scaling=None):
    """The lesson 04 classifier at privacy level ``epsilon``; ``None`` gives the ordinary (non-private) model."""
    if epsilon is None:
        return unlearning.fit_classifier(X, y, seed=seed)
    return PrivateClassifier(epsilon, settings=settings, seed=seed, scaling=scaling).fit(X, y)


@dataclass(frozen=True)
class SweepRow:
    """One epsilon: the model's usefulness and how well LiRA finds its training photos."""

    epsilon: float | None  # None: not private
    noise: float | None  # DP-SGD's noise multiplier (None for the ordinary model)
    accuracy: float  # on the photos no model trained on
    n_test: int
    attack: unlearning.AttackResult

    def interval(self, tpr: float) -> tuple[float, float]:
        """95 % Wilson interval of a TPR measured on this row's members."""
        low, high = wilson_interval(round(tpr * self.attack.n_members), self.attack.n_members)
        return float(low), float(high)

    @property
    def label(self) -> str:
        if self.epsilon is None:
            return "ordinary model"
        return "SGD, no noise" if math.isinf(self.epsilon) else f"ε = {self.epsilon:g}"


def epsilon_sweep(X: ArrayLike, y: ArrayLike, epsilons=DEFAULT_EPSILONS, *, n_shadows: int = 8, seed: int = 0,
                  settings: DpSgd = DpSgd()) -> list[SweepRow]:
    """Train the classifier at each epsilon on half of each person's photos and attack it with LiRA.

    The members are the training photos (``unlearning.member_split(y, seed=seed)``, as in
    ``unlearning.membership_experiment``); the non-members are the other photos of the
    same people. For each epsilon the ``n_shadows`` shadow models are trained by the same
    algorithm at the same epsilon. Accuracy is measured on the non-members."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"need a 2-D embeddings array with one identity per row, got {X.shape} and {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("the embeddings contain NaN or infinite values")
    if n_shadows < 2:
        raise ValueError(f"LiRA needs at least 2 shadow models, got n_shadows={n_shadows}")
    epsilons = [None if e is None else _check_epsilon(e) for e in epsilons]
    scaling = public_scaling()
    is_member = unlearning.member_split(y, seed=seed)
    rows = []
    for epsilon in epsilons:
        def train(Xs, ys, s, epsilon=epsilon):
            return fit_private(Xs, ys, epsilon=epsilon, seed=s, settings=settings, scaling=scaling)

        target = train(X[is_member], y[is_member], seed)
        shadows = unlearning.shadow_scores(X, y, n_shadows=n_shadows, seed=seed, train=train)
        scores = unlearning.confidence_score(unlearning.true_class_probability(target, X, y))
        attack = unlearning.attack_metrics(unlearning.lira_scores(scores, shadows), is_member)
        accuracy = float(np.mean(target.predict(X[~is_member]) == y[~is_member]))
        rows.append(SweepRow(epsilon, getattr(target, "noise", None), accuracy, int((~is_member).sum()), attack))
    return rows


def sweep_table(rows: list[SweepRow]) -> str:
    """The sweep as aligned text, with 95 % Wilson intervals on the TPRs."""
    lines = [f"{'model':<14} {'noise':>6} {'accuracy':>8} {'LiRA TPR@1% FPR':>22} {'TPR@0.1% FPR':>22}"]
    for r in rows:
        cells = []
        for tpr in (r.attack.tpr_at_1pct, r.attack.tpr_at_01pct):
            low, high = r.interval(tpr)
            cells.append(f"{tpr:6.1%} [{low:5.1%}, {high:5.1%}]")
        noise = "-" if r.noise is None else f"{r.noise:.2f}"
        lines.append(f"{r.label:<14} {noise:>6} {r.accuracy:8.1%} {cells[0]:>22} {cells[1]:>22}")
    return "\n".join(lines)


def plot_sweep(rows: list[SweepRow], ax=None):
    """Accuracy and LiRA TPR at 1 % FPR against epsilon (log axis); the non-private models are horizontal lines."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    private = [r for r in rows if r.epsilon is not None and math.isfinite(r.epsilon)]
    eps = [r.epsilon for r in private]
    tpr = [r.attack.tpr_at_1pct for r in private]
    bounds = np.array([r.interval(r.attack.tpr_at_1pct) for r in private])
    ax.plot(eps, [r.accuracy for r in private], marker="o", color=PALETTE[0], label="accuracy (utility)")
    ax.errorbar(eps, tpr, yerr=[np.subtract(tpr, bounds[:, 0]), np.subtract(bounds[:, 1], tpr)], marker="s",
                linestyle="--", color=PALETTE[3], capsize=3, label="LiRA TPR at 1 % FPR (95 % interval)")
    for r, style in ((r, "-." if r.epsilon is None else ":") for r in rows if r not in private):
        ax.axhline(r.accuracy, color=PALETTE[0], linestyle=style, label=f"accuracy, {r.label}")
        ax.axhline(r.attack.tpr_at_1pct, color=PALETTE[3], linestyle=style, label=f"LiRA TPR, {r.label}")
    ax.axhline(0.01, color=PALETTE[7], linewidth=0.8, label="chance (TPR = FPR = 1 %)")
    ax.set_xscale("log")
    ax.set_xlabel("ε (log scale; smaller = more private)")
    ax.set_ylabel("fraction of photos")
    ax.set_ylim(0, 1.02)
    ax.set_title("DP-SGD: accuracy and LiRA TPR at 1 % FPR against ε")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
