"""Every figure of the defences (issue 16 section 2): the epsilon sweep, and cloaking against dlib.

    uv run python scripts/benchmark_defences.py                 # everything (about 20-30 min on 2 busy cores)
    uv run python scripts/benchmark_defences.py --part dp       # differential privacy only
    uv run python scripts/benchmark_defences.py --part unlearning  # approximate vs exact unlearning
    uv run python scripts/benchmark_defences.py --part cloak --write-cloaks course/cloaks.json

The cloak part searches for the cloaks (slow: one dlib query per step) and, with
--write-cloaks, saves them so lessons can rebuild the cloaked photos without searching.
Timings are medians of repeats; they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time

import numpy as np

from course import cloaking, data, metrics, privacy, unlearning


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def differential_privacy(repeats: int) -> None:
    people = data.load("synthetic-people")
    rows = np.flatnonzero(people.found)
    X, y = people.embeddings[rows].astype(np.float64), people.identities[rows]
    print("== Differential privacy (DP-SGD, dp_accounting RDP, delta = %g) ==" % privacy.DELTA)
    print(f"settings: {privacy.DpSgd()}")
    full = privacy.epsilon_sweep(X, y, (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, math.inf, None), n_shadows=16, seed=0)
    print("full sweep, 16 shadows per epsilon:")
    print(privacy.sweep_table(full))
    print(f"members {full[0].attack.n_members}, non-members {full[0].attack.n_nonmembers}; smallest measurable "
          f"FPR = 1/{full[0].attack.n_nonmembers} = {full[0].attack.smallest_fpr:.2%}")
    lesson = privacy.epsilon_sweep(X, y, seed=0)
    print("\nlesson-sized sweep (DEFAULT_EPSILONS, 8 shadows):")
    print(privacy.sweep_table(lesson))
    seconds = _median_seconds(lambda: privacy.epsilon_sweep(X, y, seed=0), repeats)
    print(f"lesson-sized sweep: median {seconds:.1f} s over {repeats} runs (accountant cached after the first)")


def _gradient_steps(model, X, y, steps: int, rate: float):
    """A copy of ``model`` moved by full-batch gradient steps on the cross-entropy of (X, y): descent if rate > 0.

    The original scaling is kept; only the weights move. With rate > 0 on the retained photos
    this is fine-tuning; with rate < 0 on the forget set it is gradient ascent."""
    tuned = copy.deepcopy(model)
    head = tuned.steps[1][1]
    Z = model.steps[0][1].transform(X)
    column = np.searchsorted(head.classes_, y)
    for _ in range(steps):
        p = head.predict_proba(Z)
        p[np.arange(len(Z)), column] -= 1.0  # gradient of the cross-entropy wrt the logits
        head.coef_ = head.coef_ - rate * (p.T @ Z) / len(Z)
        head.intercept_ = head.intercept_ - rate * p.mean(0)
    return tuned


def _tpr_with_interval(result) -> str:
    """TPR at 1 % FPR as hits / members with its 95 % Wilson interval, as lesson 04 reads it."""
    hits = round(result.tpr_at_1pct * result.n_members)
    low, high = metrics.wilson_interval(hits, result.n_members)
    return f"TPR@1% {result.tpr_at_1pct:6.1%} ({hits}/{result.n_members}, 95 % interval {float(low):5.1%} to {float(high):5.1%})"


def approximate_unlearning(n_shadows: int) -> None:
    """Fine-tuning and gradient ascent against exact retraining and SISA, judged by LiRA on the forgotten photos."""
    people = data.load("synthetic-people")
    rows = np.flatnonzero(people.found)
    X, y = people.embeddings[rows].astype(np.float64), people.identities[rows]
    print("\n== Approximate unlearning vs exact retraining and SISA (lesson 04's forget set) ==")
    experiment = unlearning.membership_experiment(X, y, n_shadows=n_shadows, n_shards=4, seed=0)
    for row in experiment.rows:
        if row.attack == "LiRA":
            print(f"{row.model:<42} LiRA AUC {row.result.auc:.2f}  {_tpr_with_interval(row.result)}  "
                  f"TPR@0.1% {row.result.tpr_at_01pct:6.1%}  acc {row.accuracy:.0%}")
    member, forget, evaluated = experiment.is_member, experiment.forget, experiment.evaluated
    keep = member & ~forget
    original = unlearning.fit_classifier(X[member], y[member], seed=0)
    shadows = unlearning.shadow_scores(X, y, n_shadows=n_shadows, seed=0)
    candidates = [(f"fine-tune on retained, {k} steps x {r:g}",
                   lambda k=k, r=r: _gradient_steps(original, X[keep], y[keep], k, r)) for k, r in ((5, 1), (50, 1), (50, 10))]
    candidates += [(f"gradient ascent on forget, {k} steps x {r:g}",
                    lambda k=k, r=r: _gradient_steps(original, X[forget], y[forget], k, -r))
                   for k, r in ((5, 1), (20, 1), (5, 10), (20, 10))]
    for name, make in candidates:
        model = make()
        seconds = _median_seconds(make, 3)
        scores = unlearning.confidence_score(unlearning.true_class_probability(model, X, y))
        result = unlearning.attack_metrics(unlearning.lira_scores(scores, shadows)[evaluated], forget[evaluated])
        accuracy = float(np.mean(model.predict(X[~member]) == y[~member]))
        print(f"{name:<42} LiRA AUC {result.auc:.2f}  {_tpr_with_interval(result)}  "
              f"TPR@0.1% {result.tpr_at_01pct:6.1%}  acc {accuracy:.0%}  (median {seconds * 1000:.0f} ms of 3)")
    retrain = _median_seconds(lambda: unlearning.fit_classifier(X[keep], y[keep], seed=0), 3)
    print(f"exact retraining on the {int(keep.sum())} retained photos: median {retrain * 1000:.0f} ms of 3")
    print(f"(LiRA with {n_shadows} shadows trained as the original; members = {int(forget.sum())} forgotten photos, "
          f"non-members = {int((evaluated & ~forget).sum())} unseen photos of the same people)")


def cloaking_figures(n_people: int, max_queries: int, budgets: list[int], write: str | None) -> None:
    from course import faces

    print("\n== Cloaking against dlib (black-box random search) ==")
    rendered = faces.synthetic_faces(1, 2, seed=0, size=256)
    oracle = cloaking.ChipOracle(rendered.images[0], rendered.provenance[0])
    per_query = _median_seconds(lambda: oracle(rendered.images[0]), 10)
    print(f"one query (chip -> dlib vector): median {per_query * 1000:.0f} ms of 10")
    for budget in budgets:
        study = cloaking.cloak_study(n_people, budget=budget, max_queries=max_queries, seed=0)
        print(f"\nbudget {budget}/255, at most {max_queries} queries per photo:")
        print(study.table())
        for p in study.people:
            print(f"  id seed {p.identity_seed:>10}: {p.before:.3f} -> {p.after:.3f} (random {p.random_pattern:.3f}, blur {p.after_blur:.3f}, "
                  f"JPEG {p.after_jpeg:.3f}); SSIM {p.ssim:.3f}; {p.queries} queries, {p.seconds:.1f} s")
        if write and budget == budgets[0]:
            cloaking.save_cloaks(study, write, seed=0, size=256,
                                 made_by=f"uv run python scripts/benchmark_defences.py --part cloak --people {n_people} "
                                         f"--queries {max_queries} --budget {' '.join(map(str, budgets))} "
                                         f"--write-cloaks {write}")
            print(f"saved the cloaks to {write}")
    saved = cloaking.load_cloaks(write) if write else None
    if saved:
        study = cloaking.cloak_study(len(saved["cloaks"]), saved=saved["cloaks"], seed=saved["seed"])
        print(f"\nthe saved cloaks, rebuilt from their records and judged again:\n{study.table()}")
        seconds = _median_seconds(lambda: cloaking.cloak_study(5, saved=saved["cloaks"], seed=saved["seed"]), 3)
        print(f"\nlesson-sized run (5 saved cloaks rebuilt, verified and judged): median {seconds:.1f} s of 3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "dp", "unlearning", "cloak"), default="all")
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--budget", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-cloaks", default=None)
    args = parser.parse_args()
    if args.part in ("all", "dp"):
        differential_privacy(args.repeats)
    if args.part in ("all", "unlearning"):
        approximate_unlearning(n_shadows=16)
    if args.part in ("all", "cloak"):
        cloaking_figures(args.people, args.queries, args.budget, args.write_cloaks)


if __name__ == "__main__":
    main()
