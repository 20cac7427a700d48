"""Checks for lesson 04b (defences, measured like the attacks): concept questions and reading the ε sweep.

The exercise is judged against the learner's own sweep (``course.privacy.epsilon_sweep``), so the
verdict follows the measurements, never a number typed into this module.
"""

from __future__ import annotations

import math

from .. import privacy
from . import ConceptQuestion, Feedback, as_number, concept_quiz, verdict

__all__ = ["Feedback", "NOT_SET", "BEFORE", "AFTER", "concepts_before", "concepts_after", "private_model_choice",
           "intervals_read", "CHANCE", "COST_TOLERANCE"]

BEFORE = [
    ConceptQuestion(
        "A company trains a face classifier on your photos, then deletes the photos and keeps the model. Can an "
        "outsider who can query the model tell whether one of your photos was in its training set?",
        {"a": "No: the model keeps only its weights, so nothing about any single photo outlives the deleted files.",
         "b": "Often yes: a model tends to be more confident on its training photos, and that can be measured.",
         "c": "Only if the outsider can recover the deleted photo files from the company's own disks or its backups."},
        answer="b",
        why="membership inference (lesson 04) works from the model's outputs alone: training leaves a trace in "
            "how confident the model is on each training photo. The outsider needs your photo (you posted it), "
            "not the company's files."),
    ConceptQuestion(
        "A training algorithm is differentially private with ε = 1. What does that promise?",
        {"a": "The model's accuracy is at most 1 percentage point below that of the same model trained without privacy.",
         "b": "Every training photo is encrypted with a key of strength 1, so nobody can ever read a photo back out of the model.",
         "c": "Adding or removing one training photo changes the probability of any outcome of training by at most a "
                   "factor e^1 ≈ 2.7 (plus δ)."},
        answer="c",
        why="ε bounds a likelihood ratio: whatever one looks at in the trained model, its probability with and "
            "without any one training example (here, one photo) differs by at most a factor e^ε, plus a small δ. "
            "It says nothing directly about accuracy, and nothing is encrypted."),
    ConceptQuestion(
        "You add a faint, carefully chosen pattern to your photos before posting them (a 'cloak') so that a face "
        "recogniser cannot match them to you. Which is closest to the truth?",
        {"a": "It may fool the recogniser it was made against; a later or retrained one may match the photos anyway.",
         "b": "Once the cloaked photos are online, you are protected for good against every recogniser built later.",
         "c": "It cannot change what a recogniser outputs: a change too faint for people to see is too faint for a model."},
        answer="a",
        why="a cloak is made once, against the models of the day; the photos stay online, and a system trained "
            "later, or trained to resist cloaks, can still recognise them (Radiya-Dixit et al., ICLR 2022)."),
]

AFTER = [
    ConceptQuestion(
        "In the ε sweep, LiRA's TPR at 1 % FPR against the ε = 100 model was about chance. What does that show?",
        {"a": "That ε = 100 guarantees privacy here, since even a strong attack such as LiRA found nothing it could measure.",
         "b": "That this attack found no leak it could measure; at ε = 100 the guarantee promises nothing at all.",
         "c": "That DP-SGD's noise removes membership leakage whatever ε is, as long as some noise is added to the gradients."},
        answer="b",
        why="an attack's result is a lower bound on the leak (what one attack found); ε is an upper bound "
            "(what no attack can exceed). At ε = 100 the upper bound is vacuous, so the measured chance-level "
            "TPR is a fact about LiRA on this data, not a guarantee: a stronger attack might still find a leak."),
    ConceptQuestion(
        "In the sweep, what took LiRA's TPR at 1 % FPR from about 28 % (the ordinary model) down to a few percent "
        "first?",
        {"a": "The DP-SGD recipe without any noise (clipped per-photo gradients, 20 passes, 62 steps): about 2 %.",
         "b": "Only the noise added at small ε: without noise, the model leaked as much as the ordinary one.",
         "c": "Giving LiRA fewer shadow models to calibrate its scores with, which weakened the attack."},
        answer="a",
        why="the 'SGD, no noise' row has the same clipping, sampling and 62 steps as DP-SGD and no noise: its TPR at "
            "1 % FPR was about 2 %, against about 28 % for the ordinary model, with the same 8 shadow models. It "
            "differs from the ordinary model in more than clipping (optimiser, number of steps, scaling), so the "
            "recipe as a whole overfits less; the noise is what turns that into a guarantee, and it costs accuracy."),
    ConceptQuestion(
        "A service 'forgets' a person by a few gradient steps away from their photos (approximate unlearning). "
        "How would you check that it worked?",
        {"a": "Check that none of the person's photos is left in the training folder, in the backups or in any cache.",
         "b": "Check that the model's accuracy on everyone else did not drop after the forgetting steps were applied.",
         "c": "Attack the forgotten photos with a membership test; compare with a model retrained without them."},
        answer="c",
        why="files being gone says nothing about the weights, and unchanged accuracy says nothing about the person; "
            "the measured test is the attack on the forgotten photos against the retrained reference, and only a "
            "certified method (e.g. Guo et al., ICML 2020) gives a guarantee."),
    ConceptQuestion(
        "Radiya-Dixit et al. (ICLR 2022) argue that cloaking does not even admit an 'arms race' between users and "
        "recognisers. Why?",
        {"a": "Cloaks fade as photos are re-compressed over the years, until none of the pattern is left.",
         "b": "The user cloaks once, before posting; the recogniser can retrain later on the same scraped photos.",
         "c": "Face recognisers stop working on photos older than a few years, so the race ends by itself."},
        answer="b",
        why="the asymmetry is in who moves when: a published photo cannot be re-cloaked, while the recogniser can "
            "be retrained or replaced at any time with the old photos in hand, including by a model trained to "
            "resist the cloak."),
    ConceptQuestion(
        "In this lesson the saved cloaks lowered dlib's match rate from 5 of 5 synthetic people to 1 of 5. "
        "What may you conclude?",
        {"a": "Cloaking defeats face recognition in general, since a search without any gradients already hid 4 of 5.",
         "b": "Against dlib, on these faces, most were hidden; 5 people give a wide interval, and one model was tested.",
         "c": "Nothing at all, because the cloaked photos' SSIM is below 1, so they are no longer the same photos as before."},
        answer="b",
        why="the measurement is about one model, one kind of face and five people: the 95 % interval of 1 of 5 "
            "runs from about 4 % to 62 %. It does not carry over to other recognisers or to later ones."),
]


def concepts_before(answers) -> Feedback:
    """The concept questions before the lesson (wrong answers are expected)."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """The concept questions after the lesson."""
    return concept_quiz("after", AFTER, answers)


# --------------------------------------------------------------------------- exercise 1: read the ε sweep

NOT_SET = ...  # the placeholder of exercise 1, where None is a possible answer (the ordinary model)
#: The TPR an attack that guesses gets at FPR 1 %: chance.
CHANCE = 0.01
#: The accuracy cost is asked in percentage points to two decimals; this is how far a right one may be from the
#: difference of the rows' accuracies. Every typical wrong value (the error rate, the relative drop, the table's
#: one-decimal difference) is further away than this in the lesson's sweep; the tests check each one.
COST_TOLERANCE = 0.02
#: How close (in percentage points) a value must be to a named wrong route to be called that mistake: two decimals
#: of rounding, with room to spare.
ROUTE_TOLERANCE = 0.01


def _name(epsilon) -> str:
    if epsilon is None:
        return "the ordinary model (None)"
    return "SGD without noise (math.inf)" if math.isinf(epsilon) else f"ε = {epsilon:g}"


def _at_chance(row) -> bool:
    low, high = row.interval(row.attack.tpr_at_1pct)
    return low <= CHANCE <= high


def _points(fraction: float) -> float:
    """A fraction as percentage points rounded to one decimal, as the sweep table prints it."""
    return round(100 * fraction, 1)


def _promise(epsilon) -> str:
    """What the guarantee says about TPR at 1 % FPR for a row, from privacy.tpr_bound."""
    if epsilon is None or math.isinf(epsilon):
        return "this model has no privacy guarantee at all"
    bound = privacy.tpr_bound(epsilon, CHANCE)
    if bound >= 1:
        return f"at ε = {epsilon:g} the bound on TPR at 1 % FPR is e^ε × 1 % + δ, capped at 100 %: it promises nothing"
    return f"at ε = {epsilon:g} no attack can exceed a TPR of {bound:.1%} at 1 % FPR"


def best_at_chance(sweep):
    """The row a careful reader picks: the most accurate model whose 95 % interval on LiRA's TPR at 1 % FPR
    contains 1 % (chance); on a tie in accuracy, the more private one (smaller ε). None if no row qualifies."""
    candidates = [r for r in sweep if _at_chance(r)]
    if not candidates:
        return None
    order = lambda r: (r.accuracy, -(math.inf if r.epsilon is None else r.epsilon))  # noqa: E731
    return max(candidates, key=order)


def _row_for(answer, sweep):
    """The sweep row the learner named by its epsilon (a number, math.inf, or None), or None if no row has it."""
    for row in sweep:
        if answer is None and row.epsilon is None:
            return row
        if answer is not None and row.epsilon is not None and math.isclose(row.epsilon, answer, rel_tol=1e-9):
            return row
    return None


def _epsilon_of(value, field: str):
    """A learner's ε: (the number, math.inf or None, None) or (NOT_SET, a message saying what is wrong)."""
    if isinstance(value, str):
        return NOT_SET, (f"{field} should be a row's ε as a number, not text ({value!r}): e.g. 3.0 or math.inf, "
                         "or None, written without quotes.")
    if value is None:
        return None, None
    number = as_number(value)
    if number is None or math.isnan(number):
        return NOT_SET, (f"{field} should be a row's ε: a number such as 3.0, math.inf or None; got "
                         f"{type(value).__name__} {value!r}.")
    return number, None


def _sweep_rows(sweep):
    sweep = list(sweep)
    ordinary = next((r for r in sweep if r.epsilon is None), None)
    expected = best_at_chance(sweep)
    if ordinary is None or expected is None:
        raise ValueError("the sweep needs the ordinary model (epsilon None) and at least one row at chance; "
                         "pass the lesson's `sweep`")
    return sweep, ordinary, expected


def private_model_choice(model_choice: object, accuracy_cost: object, sweep) -> Feedback:
    """Exercise 1, part 1: the most accurate model at chance for LiRA (by its interval), and what it costs.

    ``model_choice`` is that row's ``epsilon`` (a number; ``math.inf`` for SGD without noise; ``None`` for the
    ordinary model). ``accuracy_cost`` is the ordinary model's accuracy minus the chosen model's, in percentage
    points to two decimals (13.25 for 13.25 points), computed from the rows' ``accuracy``."""
    if model_choice is NOT_SET:  # said before the sweep is read, as for every untouched answer
        return verdict(False, "You have not set model_choice yet: set it to the ε of the row you pick "
                              "(a number such as 3.0, math.inf for SGD without noise, None for the ordinary model).")
    sweep, ordinary, expected = _sweep_rows(sweep)
    names = ", ".join(_name(r.epsilon) for r in sweep)
    model_choice, problem = _epsilon_of(model_choice, "model_choice")
    if problem:
        return verdict(False, problem)
    chosen = _row_for(model_choice, sweep)
    if chosen is None:
        return verdict(False, f"No row of the sweep has ε = {model_choice:g}. The rows are: {names}.")
    low, high = chosen.interval(chosen.attack.tpr_at_1pct)
    if not _at_chance(chosen):
        return verdict(False, f"{_name(chosen.epsilon)}: LiRA's TPR at 1 % FPR is {chosen.attack.tpr_at_1pct:.1%}, "
                              f"and its 95 % interval [{low:.1%}, {high:.1%}] does not contain 1 %: the attack "
                              "does better than chance against it. Read the TPR@1% column's interval, not the "
                              "0.1 % column or the accuracy.")
    if chosen is not expected:
        if chosen.accuracy == expected.accuracy:
            return verdict(False, f"{_name(chosen.epsilon)} is at chance and just as accurate as "
                                  f"{_name(expected.epsilon)}; on a tie, take the more private one (smaller ε).")
        return verdict(False, f"{_name(chosen.epsilon)} is at chance for LiRA, but it is not the most accurate such "
                              f"model: {_name(expected.epsilon)} is too, at {expected.accuracy:.1%} accuracy against "
                              f"{chosen.accuracy:.1%}. The question asks for the most useful model the attack "
                              "cannot tell from chance.")
    if accuracy_cost is NOT_SET or accuracy_cost is None:
        return verdict(False, f"Right model ({_name(expected.epsilon)}), but you have not set accuracy_cost yet: "
                              "the ordinary model's accuracy minus this model's, in percentage points.")
    cost = as_number(accuracy_cost)
    if cost is None or math.isnan(cost):
        return verdict(False, f"accuracy_cost should be a number (percentage points such as 13.25), got "
                              f"{type(accuracy_cost).__name__} {accuracy_cost!r}.")
    right = 100 * (ordinary.accuracy - expected.accuracy)
    if abs(cost - right) <= COST_TOLERANCE:
        return verdict(True, f"{_name(expected.epsilon)}: LiRA's TPR at 1 % FPR is {expected.attack.tpr_at_1pct:.1%} "
                             f"[{low:.1%}, {high:.1%}], an interval that contains chance, at {expected.accuracy:.2%} "
                             f"accuracy: {right:.2f} percentage points below the ordinary model "
                             f"({ordinary.accuracy:.2%}). "
                             "Remember what 'at chance' means here: this attack, on these few hundred photos, found "
                             f"nothing it could measure. That is not the guarantee: {_promise(expected.epsilon)}.")
    return verdict(False, _cost_mistake(cost, right, ordinary, expected, sweep))


def _cost_mistake(cost: float, right: float, ordinary, expected, sweep) -> str:
    """The message for a wrong accuracy cost (percentage points): the mistake it looks like, or what to do."""
    def near(route: float) -> bool:
        return abs(cost - route) <= ROUTE_TOLERANCE

    ordinary_pct, chosen_pct = 100 * ordinary.accuracy, 100 * expected.accuracy
    if 0 < abs(cost) < 1 and abs(100 * abs(cost) - right) <= 2:
        return (f"{cost:g} looks like a fraction; give the cost in percentage points, to two decimals "
                "(13.25 for 13.25 points, not 0.1325).")
    if abs(cost + right) <= COST_TOLERANCE:
        return ("The sign is reversed: the private model is less accurate, so the cost is the ordinary model's "
                "accuracy minus the private model's, a positive number.")
    if near(chosen_pct) or near(_points(expected.accuracy)):
        return "That is the chosen model's accuracy, not its cost: subtract it from the ordinary model's accuracy."
    if near(100 - chosen_pct) or near(100 - _points(expected.accuracy)):
        return ("That is the chosen model's error rate (100 % minus its accuracy); the cost is measured against the "
                f"ordinary model's accuracy ({ordinary.accuracy:.2%}), not against 100 %.")
    if abs(cost - (_points(ordinary.accuracy) - _points(expected.accuracy))) <= 0.005:
        return (f"{cost:g} is the difference of the table's rounded accuracies, which print one decimal. The cost is "
                "asked to two decimals: subtract the rows' `accuracy` values and multiply by 100.")
    if near(100 * right / ordinary_pct) or near(100 * (_points(ordinary.accuracy) - _points(expected.accuracy))
                                                / _points(ordinary.accuracy)):
        return ("That is the relative drop (the difference divided by the ordinary model's accuracy); the cost asked "
                "for is the plain difference of the two accuracies, in percentage points.")
    for row in sweep:
        if row is not ordinary and row is not expected:
            other = 100 * (ordinary.accuracy - row.accuracy)
            if near(other) or near(_points(ordinary.accuracy) - _points(row.accuracy)):
                return f"That is the cost of {_name(row.epsilon)}, not of the model you chose ({_name(expected.epsilon)})."
    if abs(cost - (round(ordinary_pct) - round(chosen_pct))) <= 0.005:
        return ("That is the difference of whole percentages, which is too coarse here: subtract the rows' "
                "`accuracy` values and give two decimals.")
    if abs(cost - right) <= 0.3:
        return (f"Close, but not to two decimals: {cost:g} against the measured difference. Subtract the rows' "
                "`accuracy` values (fractions), multiply by 100 and keep two decimals.")
    return (f"Right model ({_name(expected.epsilon)}), but the cost {cost:g} does not match the sweep: subtract its "
            "accuracy from the ordinary model's and give the difference in percentage points.")


def _listed_epsilons(value, sweep):
    """A learner's list of ε as the sweep's rows, or (None, a message saying what is wrong)."""
    if value is NOT_SET:
        return None, ("You have not set above_1pct_at_chance yet: set it to a list of the rows' ε, e.g. [3.0, 30.0] "
                      "(an empty list [] if there is none).")
    if isinstance(value, str) or value is None or as_number(value) is not None and not hasattr(value, "__len__"):
        return None, (f"above_1pct_at_chance should be a list of the rows' ε, e.g. [3.0, 30.0] or [], got "
                      f"{type(value).__name__} {value!r}.")
    try:
        items = list(value)
    except TypeError:
        return None, (f"above_1pct_at_chance should be a list of the rows' ε, e.g. [3.0, 30.0] or [], got "
                      f"{type(value).__name__}.")
    rows = []
    for item in items:
        epsilon, problem = _epsilon_of(item, "Each entry of above_1pct_at_chance")
        if problem:
            return None, problem
        row = _row_for(epsilon, list(sweep))
        if row is None:
            return None, f"No row of the sweep has ε = {epsilon:g}; list the ε of rows of the table."
        if row not in rows:
            rows.append(row)
    return rows, None


def _printed_at_one_percent(row) -> bool:
    """True when the row's point TPR prints as 1.0 % in the table, though it is above 1 % in the row itself."""
    return f"{row.attack.tpr_at_1pct:.1%}" == "1.0%"


def intervals_read(above_1pct_at_chance: object, sweep) -> Feedback:
    """Exercise 1, part 2: the rows whose point TPR at 1 % FPR is above 1 % but whose 95 % interval contains 1 %.

    ``above_1pct_at_chance`` is a list (or any iterable) of those rows' ε, in any order. A row whose point TPR is
    above 1 % but prints as 1.0 % in the table may be listed or left out: both readings are right."""
    if above_1pct_at_chance is NOT_SET:  # said before the sweep is read, as for every untouched answer
        return verdict(False, _listed_epsilons(NOT_SET, [])[1])
    sweep, _, _ = _sweep_rows(sweep)
    rows, problem = _listed_epsilons(above_1pct_at_chance, sweep)
    if problem:
        return verdict(False, problem)
    above = [r for r in sweep if r.attack.tpr_at_1pct > CHANCE]
    required = [r for r in above if _at_chance(r) and not _printed_at_one_percent(r)]
    optional = [r for r in above if _at_chance(r) and _printed_at_one_percent(r)]

    def described(row) -> str:
        low, high = row.interval(row.attack.tpr_at_1pct)
        return f"{_name(row.epsilon)} ({row.attack.tpr_at_1pct:.1%} [{low:.1%}, {high:.1%}])"

    for row in rows:
        if row.attack.tpr_at_1pct <= CHANCE:
            return verdict(False, f"{described(row)}: its point TPR is not above 1 %. The question asks for rows "
                                  "whose point estimate is above chance yet whose interval still contains it.")
        if not _at_chance(row):
            return verdict(False, f"{described(row)}: its interval does not contain 1 %, so LiRA does better than "
                                  "chance against it. The question asks for rows whose interval contains 1 %.")
    missing = [r for r in required if r not in rows]
    if missing:
        return verdict(False, f"You left out {len(missing)} row(s) whose point TPR at 1 % FPR is above 1 % and whose "
                              "interval contains 1 %. Compare each row's TPR@1% with 1 %, then look at its interval.")
    lines = []
    for row in required + [r for r in optional if r in rows]:
        bound = privacy.tpr_bound(row.epsilon, CHANCE)
        against = ("above" if row.attack.tpr_at_1pct > bound else "below")
        lines.append(f"{described(row)}, bound {bound:.1%}: the point is {against} the bound")
    skipped = [r for r in optional if r not in rows]
    note = (" " + ", ".join(_name(r.epsilon) for r in skipped) + " prints as 1.0 % but is a little above 1 % in the "
            "row itself; leaving it out is right too.") if skipped else ""
    return verdict(True, "; ".join(lines) + "." + note + " A point estimate a little above 1 % is what sampling "
                         "alone gives with a few hundred photos; the interval says how far it can move. A point a "
                         "little above even the guaranteed bound is no contradiction while the interval reaches below "
                         "the bound.")
