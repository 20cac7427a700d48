"""Checks for lesson 04b (defences, measured like the attacks): concept questions and reading the ε sweep.

The exercise is judged against the learner's own sweep (``course.privacy.epsilon_sweep``), so the
verdict follows the measurements, never a number typed into this module.
"""

from __future__ import annotations

import math

from . import ConceptQuestion, Feedback, as_number, concept_quiz, verdict

__all__ = ["Feedback", "NOT_SET", "BEFORE", "AFTER", "concepts_before", "concepts_after", "private_model_choice",
           "CHANCE", "COST_TOLERANCE"]

BEFORE = [
    ConceptQuestion(
        "A company trains a face classifier on your photos, then deletes the photos and keeps the model. Can an "
        "outsider who can query the model tell whether one of your photos was in its training set?",
        {"a": "No: the model holds only weights, not photos, so nothing about any one photo is left.",
         "b": "Often yes: a model tends to be more confident on the photos it trained on, and a membership attack "
              "measures that.",
         "c": "Only if the outsider also has a copy of the deleted photos' files."},
        answer="b",
        why="membership inference (lesson 04) works from the model's outputs alone: training leaves a trace in "
            "how confident the model is on each training photo."),
    ConceptQuestion(
        "A training algorithm is differentially private with ε = 1. What does that promise?",
        {"a": "The model's accuracy drops by at most 1 %.",
         "b": "Each person's data is encrypted before training, with a key of strength 1.",
         "c": "Adding or removing any one person's data changes the probability of any outcome of training by at "
              "most a factor e^1 ≈ 2.7 (plus a tiny slack δ)."},
        answer="c",
        why="ε bounds a likelihood ratio: whatever one looks at in the trained model, its probability with and "
            "without one person's data differs by at most a factor e^ε, plus δ. It says nothing directly about "
            "accuracy, and nothing is encrypted."),
    ConceptQuestion(
        "You add a faint, carefully chosen pattern to your photos before posting them (a 'cloak') so that a face "
        "recogniser cannot match them to you. Which is closest to the truth?",
        {"a": "Once the cloaked photos are online you are protected for good.",
         "b": "It can work against the recogniser it was made for, but a later or retrained recogniser may match "
              "the same photos anyway.",
         "c": "It cannot change what a recogniser outputs, because the change is too faint for a person to see."},
        answer="b",
        why="a cloak is made once, against the models of the day; the photos stay online, and a system trained "
            "later, or trained to resist cloaks, can still recognise them (Radiya-Dixit et al., ICLR 2022)."),
]

AFTER = [
    ConceptQuestion(
        "In the ε sweep, LiRA's TPR at 1 % FPR against the ε = 100 model was about chance. What does that show?",
        {"a": "That ε = 100 guarantees privacy.",
         "b": "That this attack found no leak it could measure; the guarantee at ε = 100 (a factor e^100) promises "
              "nothing, so a stronger attack might still find one.",
         "c": "That the noise of DP-SGD always removes membership leakage, whatever ε."},
        answer="b",
        why="an attack's result is a lower bound on the leak (what one attack found); ε is an upper bound "
            "(what no attack can exceed). At ε = 100 the upper bound is vacuous, so the measured chance-level "
            "TPR is a fact about LiRA on this data, not a guarantee."),
    ConceptQuestion(
        "In the sweep, what took LiRA's TPR at 1 % FPR from about 28 % (the ordinary model) down to a few percent "
        "first?",
        {"a": "The DP-SGD training recipe itself (clipped gradients, a few passes): without any noise it already "
              "fell to about 2 %.",
         "b": "Only the noise added at small ε: without noise the model leaked as much as the ordinary one.",
         "c": "Giving LiRA fewer shadow models to work with."},
        answer="a",
        why="the 'SGD, no noise' row has the same clipping and sampling as DP-SGD and no noise: its TPR at 1 % FPR "
            "was about 2 %, against about 28 % for the ordinary model. The recipe overfits less; the noise is what "
            "turns that into a guarantee, and it costs accuracy."),
    ConceptQuestion(
        "A service 'forgets' a person by a few gradient steps away from their photos (approximate unlearning). "
        "How would you check that it worked?",
        {"a": "Check that the person's photos are no longer in the training folder.",
         "b": "Check that accuracy on everyone else did not drop.",
         "c": "Attack the forgotten photos with a membership-inference test and compare with a model retrained "
              "without them, or use a method whose removal is certified by a proof."},
        answer="c",
        why="files being gone says nothing about the weights, and unchanged accuracy says nothing about the person; "
            "the measured test is the attack on the forgotten photos against the retrained reference, and only a "
            "certified method (e.g. Guo et al., ICML 2020) gives a guarantee."),
    ConceptQuestion(
        "Radiya-Dixit et al. (ICLR 2022) argue that cloaking will not give users a fair 'arms race'. Why?",
        {"a": "Cloaks fade as photos are re-compressed over the years.",
         "b": "The user moves first and once: the cloaked photos are published and scraped, and must then fool every "
              "future model, including models trained to resist them.",
         "c": "Face recognisers stop working on photos older than a few years."},
        answer="b",
        why="the asymmetry is in who moves when: a published photo cannot be re-cloaked, while the recogniser can "
            "be retrained or replaced at any time with the old photos in hand."),
    ConceptQuestion(
        "In this lesson the saved cloaks lowered dlib's match rate from 5 of 5 synthetic people to 1 of 5. "
        "What may you conclude?",
        {"a": "Cloaking defeats face recognition.",
         "b": "Against dlib's model, on these synthetic faces, the cloaks hid most people; with 5 people the "
              "interval is wide, and no other recogniser was tested.",
         "c": "Nothing at all, because the cloaked photos' SSIM is below 1."},
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
#: An accuracy difference is right to within half a percentage point (two decimals, as asked).
COST_TOLERANCE = 0.005


def _name(epsilon) -> str:
    if epsilon is None:
        return "the ordinary model (None)"
    return "SGD without noise (math.inf)" if math.isinf(epsilon) else f"ε = {epsilon:g}"


def _at_chance(row) -> bool:
    low, high = row.interval(row.attack.tpr_at_1pct)
    return low <= CHANCE <= high


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


def private_model_choice(model_choice: object, accuracy_cost: object, sweep) -> Feedback:
    """Exercise 1: the most accurate model at chance for LiRA (by its interval), and what it costs in accuracy.

    ``model_choice`` is that row's ``epsilon`` (a number; ``math.inf`` for SGD without noise; ``None`` for the
    ordinary model). ``accuracy_cost`` is the ordinary model's accuracy minus the chosen model's, a fraction
    (0.05 for 5 percentage points), to two decimals or better."""
    sweep = list(sweep)
    ordinary = next((r for r in sweep if r.epsilon is None), None)
    expected = best_at_chance(sweep)
    if ordinary is None or expected is None:
        raise ValueError("the sweep needs the ordinary model (epsilon None) and at least one row at chance; "
                         "pass the lesson's `sweep`")
    names = ", ".join(_name(r.epsilon) for r in sweep)
    if model_choice is NOT_SET:
        return verdict(False, "You have not set model_choice yet: set it to the ε of the row you pick "
                              "(a number such as 3.0, math.inf for SGD without noise, None for the ordinary model).")
    if isinstance(model_choice, str):
        return verdict(False, f"model_choice should be the row's ε as a number, not text ({model_choice!r}): "
                              "e.g. 3.0 or math.inf, or None, written without quotes.")
    if model_choice is not None:
        number = as_number(model_choice)
        if number is None or math.isnan(number):
            return verdict(False, f"model_choice should be a number (the row's ε), math.inf or None, got "
                                  f"{type(model_choice).__name__}.")
        model_choice = number
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
    right_cost = ordinary.accuracy - expected.accuracy
    if accuracy_cost is NOT_SET or accuracy_cost is None:
        return verdict(False, f"Right model ({_name(expected.epsilon)}), but you have not set accuracy_cost yet: "
                              "the ordinary model's accuracy minus this model's, as a fraction.")
    cost = as_number(accuracy_cost)
    if cost is None or math.isnan(cost):
        return verdict(False, f"accuracy_cost should be a number (a fraction such as 0.05), got "
                              f"{type(accuracy_cost).__name__} {accuracy_cost!r}.")
    if abs(cost - right_cost) <= COST_TOLERANCE:
        return verdict(True, f"{_name(expected.epsilon)}: LiRA's TPR at 1 % FPR is {expected.attack.tpr_at_1pct:.1%} "
                             f"[{low:.1%}, {high:.1%}], an interval that contains chance, at {expected.accuracy:.1%} "
                             f"accuracy: {100 * right_cost:.1f} percentage points below the ordinary model "
                             f"({ordinary.accuracy:.1%}). "
                             "Remember what 'at chance' means here: this attack, on these few hundred photos, found "
                             "nothing it could measure. It is not the guarantee, which at this ε promises nothing "
                             "(e^ε x 1 % is far above 100 %).")
    if abs(cost - 100 * right_cost) <= 100 * COST_TOLERANCE:
        return verdict(False, f"{cost:g} looks like percentage points; give the cost as a fraction "
                              f"({right_cost:.2f}, not {100 * right_cost:.0f}).")
    if abs(cost + right_cost) <= COST_TOLERANCE:
        return verdict(False, "The sign is reversed: the private model is less accurate, so the cost is the ordinary "
                              "model's accuracy minus the private model's, a positive number.")
    if abs(cost - expected.accuracy) <= COST_TOLERANCE:
        return verdict(False, "That is the chosen model's accuracy, not its cost: subtract it from the ordinary "
                              "model's accuracy.")
    if abs(cost - (1 - expected.accuracy)) <= COST_TOLERANCE / 5:
        return verdict(False, "That is the chosen model's error rate (1 − accuracy); the cost is measured against the "
                              f"ordinary model's accuracy ({ordinary.accuracy:.1%}), not against 100 %.")
    others = {r.epsilon: r.accuracy for r in sweep if r is not ordinary and r is not expected}
    for epsilon, accuracy in others.items():
        if abs(cost - (ordinary.accuracy - accuracy)) <= COST_TOLERANCE / 5:
            return verdict(False, f"That is the cost of {_name(epsilon)}, not of the model you chose "
                                  f"({_name(expected.epsilon)}).")
    if abs(cost - right_cost) <= 0.02:
        return verdict(False, f"Close, but not to two decimals: {cost:g} against the measured difference. Whole "
                              "percentages are too coarse here; read the table's one-decimal accuracies, or "
                              "subtract the rows' `accuracy` values.")
    return verdict(False, f"Right model ({_name(expected.epsilon)}), but the cost {cost:g} does not match the sweep: "
                          "subtract its accuracy from the ordinary model's (both fractions, from the table or the "
                          "rows' `accuracy`).")
