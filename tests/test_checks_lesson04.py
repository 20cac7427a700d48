"""Lesson 04's exercise checks accept the right answers and name the typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from course.checks import lesson04 as check
from course import service as sv
from course import unlearning as ul

# ------------------------------------------------------------------ exercise 1


@pytest.fixture
def service_after_naive_delete():
    rng = np.random.default_rng(0)
    svc = sv.FaceService(rng.standard_normal((20, 8)), np.repeat([0, 1, 2, 3], 5), n_lists=3)
    for person in range(4):
        for _ in range(3):
            svc.add(person, rng.standard_normal(8) + 2 * person)
    svc.train_classifier()
    svc.search(svc.embeddings[4], k=2)
    svc.snapshot()
    svc.delete(1)
    return svc


RESIDUE = {"index", "access_log", "backups", "classifier", "index_centroids"}


def test_residue_right_answer(service_after_naive_delete, capsys):
    assert check.residue_stores(RESIDUE, service_after_naive_delete, 1)
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize("answer, hint", [
    (None, "forget `return`"),
    ("index", "collection of store names"),
    (RESIDUE | {"cupboard"}, "not stores of the service"),
    (RESIDUE | {"photos"}, "hold nothing of person 1"),
    (RESIDUE - {"index"}, "tombstones"),
    (RESIDUE - {"backups"}, "the backups"),
    (RESIDUE - {"classifier", "index_centroids"}, "the classifier"),
    (RESIDUE - {"index_centroids"}, "k-means"),
    (RESIDUE - {"access_log"}, "the access log"),
])
def test_residue_typical_mistakes(service_after_naive_delete, answer, hint, capsys):
    feedback = check.residue_stores(answer, service_after_naive_delete, 1)
    assert not feedback and hint in feedback.message
    assert capsys.readouterr().out.startswith("❌")


# ------------------------------------------------------------------ exercise 2


def _right(vectors, ids, alive):
    return vectors[alive], ids[alive]


def _not_done(vectors, ids, alive):
    raise NotImplementedError("Exercise")


@pytest.mark.parametrize("function, hint", [
    (_not_done, "not done yet"),
    (lambda v, i, a: None, "forget `return`"),
    (lambda v, i, a: v[a], "Return a pair"),
    (lambda v, i, a: (v, i), "Every id is still there"),
    (lambda v, i, a: (np.where(a[:, None], v, 0), i), "zeroed the deleted vectors"),
    (lambda v, i, a: (v[~a], i[~a]), "other way round"),
    (lambda v, i, a: (v[a][::-1], i[a][::-1]), "wrong order"),
    (lambda v, i, a: (v[:a.sum()], i[a]), "the vectors are not"),
])
def test_compaction_typical_mistakes(function, hint):
    feedback = check.compaction(function)
    assert not feedback and hint in feedback.message


def test_compaction_right_answer():
    assert check.compaction(_right)


# ------------------------------------------------------------------ exercise 3


def test_tpr_function_right_answer():
    assert check.tpr_function(ul.tpr_at_fpr)


def _off_by_one(scores, is_member, fpr):
    threshold = np.sort(scores[~is_member])[::-1][int(fpr * (~is_member).sum())]
    return float(np.mean(scores[is_member] >= threshold))


@pytest.mark.parametrize("function, hint", [
    (lambda s, m, f: None, "forget `return`"),
    (lambda s, m, f: ul.tpr_at_fpr(-s, m, f), "wrong way"),
    (lambda s, m, f: f, "false-positive rate itself"),
    (lambda s, m, f: float(np.mean(m[np.argsort(-s)][: int(f * len(s))])), "*all* photos"),
    (lambda s, m, f: 0.5, "Expected"),
])
def test_tpr_function_typical_mistakes(function, hint):
    feedback = check.tpr_function(function)
    assert not feedback and hint in feedback.message


def test_tpr_function_threshold_slightly_too_permissive():
    feedback = check.tpr_function(_off_by_one)
    assert not feedback and "slightly more" in feedback.message


class _Experiment:
    def __init__(self, retrained_tpr):
        def result(tpr):
            return ul.AttackResult(auc=0.9, tpr_at_1pct=tpr, tpr_at_01pct=tpr / 2, n_members=100, n_nonmembers=300)
        self.rows = [ul.MembershipRow(name, "LiRA", result(tpr), 0.9)
                     for name, tpr in [("original model", 0.3), ("data-only deletion", 0.3),
                                       ("exact retraining", retrained_tpr)]]


@pytest.mark.parametrize("answer, ok, hint", [
    ("b", True, "Deleting only the files"),
    ("B) the second", True, "retraining took"),
    ("a", False, "identical"),
    ("c", False, "precision"),
    ("d", False, "chance"),
    ("e", False, "one letter"),
    (None, False, "one letter"),
])
def test_membership_reading(answer, ok, hint):
    feedback = check.membership_reading(answer, _Experiment(0.01))
    assert bool(feedback) == ok and hint in feedback.message


def test_membership_reading_when_the_run_does_not_support_the_expected_answer():
    feedback = check.membership_reading("b", _Experiment(0.2))
    assert not feedback and "do not quite" in feedback.message


# ------------------------------------------------------------------ exercise 4

# samples retrained to forget one person: falls with more shards, not in proportion (photos span shards)
SHARDS = dict(deletions_per_day=20, samples_per_deletion=[1000, 520, 290, 160, 90], budget_samples_per_day=6000,
              shard_counts=[1, 2, 4, 8, 16], accuracies=[0.97, 0.96, 0.95, 0.93, 0.85], min_accuracy=0.9)


def test_best_shard_count():
    # 4 shards: 290 x 20 = 5800 <= 6000; 2 shards: 520 x 20 = 10400 is over budget.
    assert check.best_shard_count(**SHARDS) == 4
    assert check.best_shard_count(**{**SHARDS, "budget_samples_per_day": 100}) is None
    assert check.best_shard_count(**{**SHARDS, "accuracies": [0.97, 0.96, 0.91, 0.95, 0.85]}) == 8


@pytest.mark.parametrize("answer, ok, hint", [
    (4, True, "4 shards"),
    (2, False, "over the budget"),
    (1, False, "over the budget"),
    (16, False, "below the floor"),
    (8, False, "also fit the budget and the floor and are more accurate (95.0% against 93.0%)"),
    (3, False, "was not measured"),
    ("many", False, "Answer with one"),
    (4.5, False, "Answer with one"),
    (True, False, "Answer with one"),
    (4.0, True, "4 shards"),
    (None, False, "does work"),
])
def test_shard_choice(answer, ok, hint):
    feedback = check.shard_choice(answer, **SHARDS)
    assert bool(feedback) == ok and hint in feedback.message


def test_shard_choice_points_to_more_shards_when_more_are_better():
    feedback = check.shard_choice(4, **{**SHARDS, "accuracies": [0.97, 0.96, 0.91, 0.95, 0.85]})
    assert not feedback and "8 shards also fit" in feedback.message and "fewer" not in feedback.message


def test_shard_choice_on_a_tie_takes_fewer_shards():
    feedback = check.shard_choice(8, **{**SHARDS, "accuracies": [0.97, 0.96, 0.95, 0.95, 0.85]})
    assert not feedback and "on a tie, take fewer" in feedback.message


def test_shard_choice_none_is_right_when_nothing_fits():
    assert check.shard_choice(None, **{**SHARDS, "budget_samples_per_day": 100})
