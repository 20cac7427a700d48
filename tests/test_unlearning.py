"""Membership inference, exact unlearning and SISA behave as lesson 04 says they do."""

from __future__ import annotations

import numpy as np
import pytest

from course import unlearning as ul


def _clusters(n_people=30, per_person=8, dim=16, spread=0.9, seed=0):
    """Embedding-like data: one Gaussian blob per person, noisy enough that a model can overfit."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_people, dim))
    y = np.repeat(np.arange(n_people), per_person)
    return centres[y] + spread * rng.standard_normal((len(y), dim)), y


def test_tpr_at_fpr_on_a_hand_made_ranking():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    members = np.array([1, 0, 1, 1, 0, 0], bool)
    assert ul.tpr_at_fpr(scores, members, 0.0) == pytest.approx(1 / 3)  # only the top score is safe
    assert ul.tpr_at_fpr(scores, members, 1 / 3) == pytest.approx(1.0)
    assert ul.tpr_at_fpr(scores, members, 0.2) == pytest.approx(1 / 3)  # 1/3 FPR is over the limit


def test_attack_metrics_of_a_perfect_and_a_useless_attack():
    members = np.r_[np.ones(50, bool), np.zeros(200, bool)]
    perfect = ul.attack_metrics(members.astype(float), members)
    assert (perfect.auc, perfect.tpr_at_1pct, perfect.tpr_at_01pct) == (1.0, 1.0, 1.0)
    useless = ul.attack_metrics(np.zeros(250), members)
    assert (useless.auc, useless.tpr_at_1pct) == (0.5, 0.0)
    assert useless.smallest_fpr == pytest.approx(1 / 200)


def test_member_split_takes_half_of_every_person():
    y = np.repeat(np.arange(5), [2, 3, 4, 8, 1])
    mask = ul.member_split(y, seed=3)
    assert [int(mask[y == p].sum()) for p in range(5)] == [1, 2, 2, 4, 1]
    assert not np.array_equal(mask, ul.member_split(y, seed=4))


def test_true_class_probability_is_zero_for_a_person_the_model_never_saw():
    X, y = _clusters(n_people=4)
    model = ul.fit_classifier(X[y != 2], y[y != 2])
    p = ul.true_class_probability(model, X, y)
    assert np.all(p[y == 2] == 0) and np.all(p[y != 2] > 0)
    assert np.isfinite(ul.confidence_score(p)).all()


def test_data_only_deletion_leaves_the_person_recognised_and_retraining_does_not():
    X, y = _clusters(spread=0.3)
    train = ul.member_split(y, seed=0)
    model = ul.fit_classifier(X[train], y[train])
    # "Delete" person 7 from the data: the arrays change, the fitted model does not.
    kept = train & (y != 7)
    probe = X[~train & (y == 7)]
    assert np.all(model.predict(probe) == 7)
    retrained = ul.fit_classifier(X[kept], y[kept])
    assert 7 not in retrained.classes_ and not np.any(retrained.predict(probe) == 7)


def test_lira_beats_chance_and_uses_the_shadows():
    X, y = _clusters(spread=1.2)
    members = ul.member_split(y, seed=0)
    target = ul.fit_classifier(X[members], y[members], C=100)
    scores = ul.confidence_score(ul.true_class_probability(target, X, y))
    shadows = ul.shadow_scores(X, y, n_shadows=6, train=lambda a, b, s: ul.fit_classifier(a, b, C=100, seed=s))
    assert shadows.scores.shape == (6, len(y)) and 0.3 < shadows.trained_on.mean() < 0.7
    lira = ul.attack_metrics(ul.lira_scores(scores, shadows), members)
    assert lira.auc > 0.7
    # Swapping the shadows' in/out labels turns the likelihood ratio round.
    flipped = ul.ShadowScores(shadows.scores, ~shadows.trained_on)
    assert ul.attack_metrics(ul.lira_scores(scores, flipped), members).auc < 0.3


def test_sisa_forget_retrains_only_the_shards_that_held_the_rows_and_matches_retraining():
    X, y = _clusters(n_people=12)
    sisa = ul.fit_sisa(X, y, n_shards=4, seed=1)
    untouched = [m for m in sisa.models]
    rows = np.flatnonzero(y == 5)
    shards = set(sisa.shard_of[rows].tolist())
    retrained = sisa.forget(rows)
    assert retrained == sum(sisa.shard_sizes()[s] for s in shards)
    assert all((sisa.models[s] is untouched[s]) == (s not in shards) for s in range(4))
    # Exact: the same procedure run from scratch on the remaining rows gives the same predictions.
    scratch = ul.SISA(4, seed=1).fit(X, y)
    scratch.forget(rows)
    assert np.allclose(scratch.predict_proba(X), sisa.predict_proba(X))
    assert not np.any(sisa.predict(X) == 5)


def test_sisa_tradeoff_cost_falls_with_shards():
    X, y = _clusters(n_people=20)
    train = ul.member_split(y, seed=0)
    results = ul.sisa_tradeoff(X[train], y[train], X[~train], y[~train], [1, 2, 8], forget_person=3)
    costs = [r.samples_retrained for r in results]
    assert costs[0] == train.sum() - 4  # one shard: retrain everything but the person's 4 photos
    assert costs[0] > costs[1] > costs[2]
    assert all(0 <= r.accuracy <= 1 for r in results)


def test_membership_experiment_shows_data_only_deletion_changes_nothing_and_retraining_does():
    X, y = _clusters(n_people=30, spread=1.2)
    exp = ul.membership_experiment(X, y, n_shadows=4, n_shards=2, seed=0)
    rows = {(r.model, r.attack): r for r in exp.rows}
    before, kept, retrained = (rows[(m, "LiRA")] for m in ("original model", "data-only deletion", "exact retraining"))
    assert before.result == kept.result and before.accuracy == kept.accuracy
    assert before.result.auc > 0.65
    assert retrained.result.auc < before.result.auc - 0.1
    assert exp.forget[exp.is_member].mean() == pytest.approx(0.25, abs=0.02)
    assert not np.any(exp.forget & ~exp.is_member)
    assert "TPR@1%" in exp.table()
