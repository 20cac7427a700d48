"""Exercise checks for lesson 04 (the limits of deletion).

Each check compares the student's answer with the right one and with the typical
wrong ones, prints a ✅/❌ verdict with a specific hint, and returns a
:class:`~course.checks.Feedback` (truthy when right).
"""

from __future__ import annotations

import copy
import functools
import math

import numpy as np

from . import ConceptQuestion, Feedback, as_number, chosen_option, concept_quiz, not_done, verdict

__all__ = ["Feedback", "NOT_SET", "BEFORE", "AFTER", "concepts_before", "concepts_after", "residue_stores",
           "compaction", "tpr_function", "membership_reading", "shard_choice", "WAL_FILES", "wal_residue"]

#: Concept questions before the lesson: what a learner may already believe (wrong answers expected).
BEFORE = [
    ConceptQuestion(
        "A service runs a DELETE on its templates table and the transaction commits. Where can the deleted "
        "templates' bytes still be?",
        {"a": "Nowhere: a committed DELETE erases the data from the disk.",
         "b": "In the database file's free space, its write-ahead log, and any backup copied before the DELETE.",
         "c": "Only in the undo history, cleared when the connection closes."},
        answer="b",
        why="A DELETE marks the rows' space as free; unless secure_delete is on it is not overwritten, a "
            "write-ahead log keeps every page written since the last checkpoint, and backups are separate "
            "copies. A checkpoint alone copies the WAL's pages, deleted bytes included, into the database file's "
            "free space. Only VACUUM followed by a checkpoint, or re-making the copy, takes the bytes out."),
    ConceptQuestion(
        "A person's photos are deleted, but the classifier trained on them is kept. What does the classifier "
        "know about them now?",
        {"a": "As much as before: its weights do not change.",
         "b": "Nothing: without the photos it can no longer recognise the person, since every prediction looks the "
              "photos up.",
         "c": "Only their name, because the photos were the only face data."},
        answer="a",
        why="A trained model is a function of its training data; deleting the data afterwards leaves the "
            "weights as they were. Only retraining without the data (or a design such as SISA) removes it."),
    ConceptQuestion(
        "A company deletes a person's photo but keeps the face template, the 128 numbers computed from it. "
        "Is the template still data about the person's face?",
        {"a": "No: it is only numbers, anonymous without the photo, so it no longer says anything about anyone's "
              "face.",
         "b": "Only if the person's name is stored beside it.",
         "c": "Yes: it matches new photos of the person, and a recognisable face can be rebuilt from it."},
        answer="c",
        why="A template is made to identify: it matches the person's other photos, and inversion attacks "
            "rebuild a face that a recogniser matches to them. The GDPR counts such data as biometric."),
]

#: Concept questions after the lesson: its key ideas; each wrong option is a real misconception.
AFTER = [
    ConceptQuestion(
        "SQLite runs in WAL mode with secure_delete off. Some templates were inserted, then deleted in a committed "
        "DELETE, and no checkpoint has run since the inserts. Which file holds the deleted templates' bytes?",
        {"a": "None: the DELETE was committed, so SQLite has already removed the rows from every file it writes.",
         "b": "Only the main database file.",
         "c": "The -wal file."},
        answer="c",
        why="In WAL mode every changed page is appended to the -wal file, and the database file is updated "
            "only at a checkpoint; the pages written when the templates were inserted are still in the WAL, "
            "since no checkpoint has run after them."),
    ConceptQuestion(
        "Which of these took every deleted template out of the database files in the lesson's measurement?",
        {"a": "Turning PRAGMA secure_delete on after the DELETE.",
         "b": "VACUUM, then PRAGMA wal_checkpoint(TRUNCATE).",
         "c": "Running the same DELETE a second time."},
        answer="b",
        why="VACUUM rebuilds the database from its live rows only, and the TRUNCATE checkpoint copies the "
            "WAL into the database and cuts the WAL to 0 bytes. secure_delete only zeroes space freed after "
            "it is set, and a second DELETE finds no rows to delete."),
    ConceptQuestion(
        "Last night's backup is restored after a person was deleted today. What keeps them deleted?",
        {"a": "Re-applying the deletion ledger (the deleted people and photo ids) to the restored data.",
         "b": "Nothing needs to: a restore only brings back data that was never deleted, since backups skip deleted "
              "rows.",
         "c": "Retraining the classifier after the restore."},
        answer="a",
        why="The backup was taken before the deletion, so it holds the person; without the ledger replayed, "
            "search finds them again, as the lesson's restore showed."),
    ConceptQuestion(
        "faiss's remove_ids on an IndexIVFFlat: what is still there afterwards?",
        {"a": "The vectors, tombstoned in the lists until a compaction.",
         "b": "The centroids trained with the removed vectors, and every index file written before.",
         "c": "Nothing: remove_ids also retrains the centroids and rewrites every copy of the index on disk."},
        answer="b",
        why="On an IVF index remove_ids really takes the entries out of the lists, but it does not retrain the "
            "quantiser, and it cannot reach copies serialised earlier, such as backups."),
    ConceptQuestion(
        "After the photo files are deleted but the model is kept, how does LiRA's TPR at a low FPR compare "
        "with the original model's?",
        {"a": "It drops to chance, because the deleted photos are no longer there to compare with.",
         "b": "It is the same: the model, and so its confidences, did not change.",
         "c": "It is higher, because the deletion makes the deleted photos stand out."},
        answer="b",
        why="Data-only deletion leaves the model as it was, so the attack scores it exactly as before; only "
            "retraining without the photos took the attack down to about chance."),
]


def concepts_before(answers) -> Feedback:
    """Judge the letters for the questions before the lesson (wrong answers are expected)."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """Judge the letters for the questions after the lesson."""
    return concept_quiz("after", AFTER, answers)


def _run(student_function, *args):
    """Call the learner's function; (result, None), or (None, a message) if it raised.

    NotImplementedError (the untouched stub) says "not done" and is re-raised, so the learner's cell stops."""
    try:
        return student_function(*args), None
    except NotImplementedError:
        not_done()
        raise
    except Exception as error:  # noqa: BLE001 - any error in the learner's code is reported, not raised
        return None, f"Your function raised {type(error).__name__}: {error}"


def _pass_the_function(call: str) -> Feedback:
    return verdict(False, f"Pass your function itself, {call}, not its result (nor anything else): the check "
                          "calls it on several test cases.")


# ------------------------------------------------------------------ exercise 1: residue

_STORE_HINTS = {
    "index": "the index: a delete that skips it leaves the vectors searchable, and even IVFIndex.remove only "
             "tombstones them (search skips them, but index.stored_ids() still lists them)",
    "backups": "the backups: each one holds a copy of the photos, embeddings and index from the night it was taken",
    "classifier": "the classifier: it was trained on the person's embeddings (service.classifier_people)",
    "index_centroids": "the index centres: k-means averaged the person's vectors into them (service.centroid_people)",
    "cache": "the cache: searches answered before the deletion are still stored with their results",
    "access_log": "the access log: its entries name the person's photo ids",
    "embeddings": "the embedding table: deleting a photo does not delete its template",
    "thumbnails": "the thumbnails: copies derived from the photos",
    "photos": "the photo store",
}


@functools.lru_cache(maxsize=1)
def _other_residue_situations():
    """Four more services, each with a residue unlike the lesson's, so that only an answer read from the stores
    passes: (description, service, person, photo ids the learner's function is given).

    Built once per process (each writes its files to disk): the check only reads them, and hands the
    learner's function a deep copy of each."""
    from ..service import FaceService

    rng = np.random.default_rng(5)

    def small_service(with_people: bool) -> FaceService:
        training = rng.standard_normal((24, 8))
        service = FaceService(training, np.repeat(np.arange(4), 6) if with_people else None, n_lists=3, seed=0)
        for person in range(4):
            for _ in range(4):
                service.add(person, rng.standard_normal(8) + 3 * person)
        return service

    # A latecomer: enrolled after the classifier was trained and the backup taken, never searched for, in an
    # index whose centres were learned from random vectors; then the naive delete.
    late = small_service(with_people=False)
    late.train_classifier()
    late.snapshot()
    for _ in range(3):
        late.add(9, rng.standard_normal(8) - 3)
    late_ids = [i for i, photo in late.photos.items() if photo.person == 9]
    for i in late_ids:
        del late.photos[i]
    # A fuller delete: service.delete with the index compacted; the log, the models and the backup were left
    # as they were. (The log is not scrubbed: a scrubbed log still holds a "delete" entry naming the person,
    # and whether that counts as their data is a fair question, not one for an automatic check.)
    fuller = small_service(with_people=True)
    fuller.train_classifier()
    fuller.search(fuller.embeddings[fuller.photo_ids_of(2)[0]], k=2)
    fuller.snapshot()
    fuller_ids = fuller.photo_ids_of(2)
    fuller.delete(2, compact_index=True)
    # Busy stores that hold nothing of the person: deleted long ago with service.delete(), which only
    # tombstones the index (never compacted since); since then others were searched for (the cache and the log
    # are full of them), and every log entry about the person has expired; the index centres were learned
    # from others.
    busy = small_service(with_people=True)
    busy_ids = [busy.add(9, rng.standard_normal(8) - 3) for _ in range(3)]
    busy.train_classifier()
    busy.delete(9)
    expired = busy.step
    for person in range(4):
        busy.search(busy.embeddings[busy.photo_ids_of(person)[0]], k=2)
    busy.access_log = [entry for entry in busy.access_log if entry.step > expired]
    # Logged only by a search: the person's enrolment entries have expired, but a later search that returned one
    # of their photos is still in the log (and the cache); the photos were deleted naively; a backup keeps them.
    searched = small_service(with_people=False)
    searched_ids = [searched.add(9, rng.standard_normal(8) - 3) for _ in range(3)]
    searched.snapshot()
    expired = searched.step
    searched.search(searched.embeddings[searched_ids[0]], k=1)
    searched.access_log = [entry for entry in searched.access_log if entry.step > expired]
    for i in searched_ids:
        del searched.photos[i]
    return [("a person who enrolled after the backup and the classifier training, and was never searched for, "
             "after the naive delete", late, 9, late_ids),
            ("a person deleted with service.delete(compact_index=True)", fuller, 2, fuller_ids),
            ("a person deleted long ago with service.delete() (tombstones left in the index), whose log entries have "
             "expired, in a service whose cache, log and index centres are full of other people", busy, 9, busy_ids),
            ("a person whose enrolment entries have expired from the log, but a search that returned their photo is "
             "still logged, after the naive delete", searched, 9, searched_ids)]


def residue_stores(residue_function, service, person: int, photo_ids) -> Feedback:
    """Exercise 1: ``residue_function(service, person, photo_ids)`` returns the set of store names that still
    hold (or were trained on) ``person``'s data.

    The check runs the learner's function on the lesson's service and on four services whose
    residue differs (see ``_other_residue_situations``): a fixed list of names cannot pass, nor can a test
    of whether a store is non-empty, nor one that overlooks tombstoned vectors.
    The truth is ``service.find(person)``, which scans every store."""
    from ..service import STORES

    if not callable(residue_function):
        return _pass_the_function("check.residue_stores(residue, ...)")
    situations = [(None, service, person, list(photo_ids)), *_other_residue_situations()]
    for where, case_service, case_person, case_ids in situations:
        answer, error = _run(residue_function, copy.deepcopy(case_service), case_person, list(case_ids))
        mistake = f"{error}." if error else _residue_mistake(answer, case_service, case_person, STORES)
        if mistake:
            if where is None:
                return verdict(False, mistake)
            return verdict(False, f"Right for the lesson's service, but not for {where}: {mistake} The residue "
                               "depends on what happened to the person, so it must be read from the stores.")
    expected = {store for store, n in service.find(person).items() if n}
    return verdict(True, f"All {len(expected)} stores found, and the right stores for four other services too. "
                      "The photo went, the person stayed: " + ", ".join(s for s in STORES if s in expected) + ".")


def _store_name(name: object) -> str:
    """A store name as the service spells it: 'Access log' and 'ACCESS-LOG' both mean 'access_log'."""
    return "_".join(str(name).casefold().replace("-", " ").replace("_", " ").split())


def _residue_mistake(answer: object, service, person: int, stores) -> str | None:
    """What is wrong with one answer of exercise 1 (None if it is right)."""
    if answer is None:
        return "Your function returned None: did you forget `return`?"
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        return "Return a collection of store names, e.g. {'embeddings', 'index'}."
    answer = list(answer)
    unknown = [str(a) for a in answer if _store_name(a) not in stores]
    if unknown:
        return f"{unknown} are not stores of the service; the stores are {list(stores)}."
    answer = {_store_name(a) for a in answer}
    expected = {store for store, n in service.find(person).items() if n}
    missed = [s for s in stores if s in expected - answer]
    extra = [s for s in stores if s in answer - expected]
    if not missed and not extra:
        return None
    if extra:
        return (f"{extra} hold nothing of person {person}: look for their photo ids (or, for a model, the people it "
                "learned from) in a store before listing it; a store that is not empty may hold only other people.")
    first = next(s for s in _STORE_HINTS if s in missed)  # the hints are ordered by how often they are missed
    return f"You missed {len(missed)} store(s). Look at {_STORE_HINTS[first]}."


# ------------------------------------------------------------------ exercise 2: compaction


def _compaction_cases():
    """Two lists to compact, (vectors, ids, alive), with different shapes and masks, so fixed rows cannot pass."""
    rng = np.random.default_rng(4)
    first = (rng.standard_normal((7, 3)).astype(np.float32), np.array([10, 11, 12, 13, 14, 15, 16], np.int64),
             np.array([True, False, True, True, False, False, True]))
    second = (rng.standard_normal((9, 4)).astype(np.float32), np.array([3, 8, 21, 22, 40, 41, 57, 60, 75], np.int64),
              np.array([False, True, True, False, True, False, True, True, False]))
    return [first, second]


def compaction(student_function) -> Feedback:
    """Exercise 2: ``compact_list(vectors, ids, alive) -> (vectors, ids)`` keeps only the live rows, in order.

    The check runs the learner's function on two lists; both must come out right."""
    if not callable(student_function):
        return _pass_the_function("check.compaction(compact_list)")
    for number, (vectors, ids, alive) in enumerate(_compaction_cases(), start=1):
        result, error = _run(student_function, vectors.copy(), ids.copy(), alive.copy())
        mistake = f"{error}." if error else _compaction_mistake(result, vectors, ids, alive)
        if mistake:
            return verdict(False, mistake if number == 1 else f"Right on the first list, but not on a second one "
                                                               f"({len(ids)} rows, ids {ids.tolist()}): {mistake}")
    return verdict(True, "On both test lists the tombstoned rows were dropped and the live ones kept in order: the "
                      "deleted vectors are now gone from the list, not merely hidden.")


def _compaction_mistake(result: object, vectors: np.ndarray, ids: np.ndarray, alive: np.ndarray) -> str | None:
    """What is wrong with one answer of exercise 2 (None if it is right)."""
    if result is None:
        return "Your function returned None: did you forget `return`?"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return "Return a pair: (vectors, ids)."
    try:
        got_vectors, got_ids = (np.asarray(r) for r in result)
    except ValueError:
        return "Return a pair of arrays: (vectors, ids), the vectors as one 2-D array."
    if got_vectors.ndim == 1 and got_ids.ndim == 2:
        return "You returned (ids, vectors): the order is (vectors, ids)."
    if got_vectors.ndim != 2 or got_ids.ndim != 1:
        return (f"Return (vectors, ids): a 2-D array of vectors (one row each) and a 1-D array of ids; got shapes "
                f"{got_vectors.shape} and {got_ids.shape}.")
    expected_vectors, expected_ids = vectors[alive], ids[alive]
    if got_ids.shape == ids.shape and np.array_equal(got_ids, ids):
        if got_vectors.shape == vectors.shape and np.allclose(got_vectors[~alive], 0):
            return ("You zeroed the deleted vectors but kept their rows: the ids still say who was there, and the "
                    "rows still take memory. Drop the rows.")
        return "Every id is still there: compaction must drop the tombstoned rows (alive == False)."
    if np.array_equal(got_ids, ids[~alive]):
        return "You kept exactly the deleted rows: the mask is the other way round (alive == True is kept)."
    if not np.array_equal(got_ids, expected_ids):
        if sorted(got_ids.tolist()) == sorted(expected_ids.tolist()):
            return "Right ids, wrong order: keep the live rows in their original order."
        return f"Expected ids {expected_ids.tolist()}, got {got_ids.tolist()}. Keep the rows where alive is True."
    if got_vectors.shape != expected_vectors.shape or not np.array_equal(got_vectors, expected_vectors):
        return ("The ids are right but the vectors are not: select the vectors with the same mask, so row i of "
                "vectors still belongs to ids[i].")
    return None


# ------------------------------------------------------------------ exercise 4: membership


def _tpr_cases():
    """The test cases of exercise 4a: (description, scores, is_member, fpr, expected); higher score = member."""
    from ..unlearning import tpr_at_fpr

    rng = np.random.default_rng(11)
    members = rng.normal(1.5, 1.0, 300)
    nonmembers = rng.normal(0.0, 1.0, 1000)
    scores = np.concatenate([members, nonmembers])
    labels = np.concatenate([np.ones(300, bool), np.zeros(1000, bool)])
    small = (np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), np.array([1, 0, 1, 1, 0, 0], bool), 0.34)
    # 100 non-members scored 0..99: at FPR 1 % only the non-member at 99 may pass, so the member tied
    # with the non-member at 98 must not count (confidence scores do tie: they saturate).
    edge = (np.r_[np.arange(100.0), 150, 120, 98.0, 50], np.r_[np.zeros(100, bool), np.ones(4, bool)], 0.01)
    # 101 non-members scored 0..100: FPR 1 % allows one of them (1/101), so the threshold sits above 99;
    # np.quantile(non-members, 0.99) lands exactly on 99 and, with >=, lets two through.
    odd = (np.r_[np.arange(101.0), 100.5, 99.5, 99.0, 50], np.r_[np.zeros(101, bool), np.ones(4, bool)], 0.01)
    # The lesson's sizes: 1 % of 276 non-members is 2.76, so two may pass, not three (rounding 2.76 up lets a
    # third through), and np.quantile interpolates between the second and third highest.
    lesson = (np.r_[rng.normal(1.5, 1.0, 99), rng.normal(0.0, 1.0, 276)], np.r_[np.ones(99, bool), np.zeros(276, bool)],
              0.01)
    # Consecutive ties, each a member and a non-member with the same score: a threshold can take both or
    # neither; roc_curve's default drop_intermediate=True drops the corners that the best threshold sits on.
    ties = (np.array([10.0, 9, 9, 8, 8] + [1.0] * 10 + [0.0] * 3), np.array([1, 1, 0, 1, 0] + [0] * 13, bool), 0.1)
    return [("300 members and 1,000 non-members at FPR 1 %", scores, labels, 0.01, tpr_at_fpr(scores, labels, 0.01)),
            ("the same 1,300 scores at FPR 0.1 %", scores, labels, 0.001, tpr_at_fpr(scores, labels, 0.001)),
            ("six scores [0.9 … 0.4], members at 0.9, 0.7 and 0.6, at FPR 34 %", *small, tpr_at_fpr(*small)),
            ("100 non-members scored 0 to 99 and a member tied with the non-member at 98, at FPR 1 %",
             *edge, tpr_at_fpr(*edge)),
            ("101 non-members scored 0 to 100 and a member tied with the non-member at 99, at FPR 1 %",
             *odd, tpr_at_fpr(*odd)),
            ("99 members and 276 non-members, as in the lesson, at FPR 1 % (2.76 non-members)", *lesson,
             tpr_at_fpr(*lesson)),
            ("scores [10, 9, 9, 8, 8, …] where a member and a non-member tie at 9 and again at 8, among 15 "
             "non-members, at FPR 10 %", *ties, tpr_at_fpr(*ties))]


def _best_threshold(scores: np.ndarray, is_member: np.ndarray, fpr: float) -> float | None:
    """The lowest score that, used as "flag if score >= threshold", keeps the FPR <= fpr (None if none does)."""
    allowed = [t for t in np.unique(scores) if np.mean(scores[~is_member] >= t) <= fpr + 1e-12]
    return min(allowed) if allowed else None


def tpr_function(student_function) -> Feedback:
    """Exercise 4a: ``tpr_at_fpr(scores, is_member, fpr)``: the best TPR among thresholds with FPR <= fpr."""
    from ..unlearning import tpr_at_fpr

    if not callable(student_function):
        return _pass_the_function("check.tpr_function(my_tpr_at_fpr)")
    cases = _tpr_cases()
    answers = []
    for description, s, m, f, _ in cases:
        answer, error = _run(student_function, s.copy(), m.copy(), f)
        if error:
            return verdict(False, f"{error}, on the test case {description}.")
        answers.append(answer)
    if any(a is None for a in answers):
        return verdict(False, "Your function returned None: did you forget `return`?")
    if any(isinstance(a, str) for a in answers):
        return verdict(False, "Your function returned text: return a number, not text (the rate, a share between "
                           "0 and 1).")
    numbers = [as_number(a) for a in answers]
    if any(n is None for n in numbers):
        return verdict(False, "Return one number, the true-positive rate (a share between 0 and 1).")
    answers = numbers
    expected = [e for *_, e in cases]
    if all(math.isclose(a, e, abs_tol=1e-9) for a, e in zip(answers, expected)):
        return verdict(True, f"Right on all {len(cases)} test cases: the true-positive rate an attacker gets while "
                          "wrongly accusing at most that fraction of non-members.")
    _, scores, labels, fpr, _ = cases[0]
    if math.isclose(answers[0], tpr_at_fpr(-scores, labels, fpr), abs_tol=1e-9):
        return verdict(False, "Your scores point the wrong way: here a *higher* score means 'member'.")
    if all(math.isclose(a, f, abs_tol=0.02) for a, (_, _, _, f, _) in zip(answers[:2], cases[:2])):
        return verdict(False, "You returned (about) the false-positive rate itself. Return the share of *members* "
                           "above the threshold.")
    if any(math.isclose(a, 100 * e, rel_tol=1e-6) for a, e in zip(answers, expected) if e > 0):
        return verdict(False, "That looks like a percentage: return the rate as a share between 0 and 1.")
    if math.isclose(answers[0], float(np.mean(labels[np.argsort(-scores)][: int(fpr * len(scores))])), abs_tol=1e-9):
        return verdict(False, "You took the top 1 % of *all* photos; FPR is a fraction of the *non-members* only.")
    mistake = _tpr_quantity_mistake(answers, cases)
    if mistake:
        return verdict(False, mistake)
    wrong = next(i for i, (a, e) in enumerate(zip(answers, expected)) if not math.isclose(a, e, abs_tol=1e-9))
    where = f"On test case {wrong + 1} of {len(cases)} ({cases[wrong][0]}) the answer is {expected[wrong]:.4g}; " \
            f"yours is {answers[wrong]:.4g}."
    if answers[wrong] > expected[wrong]:
        return verdict(False, f"{where} No threshold with FPR <= the target flags that many members: yours lets more "
                           "than the allowed share of non-members through. Look at ties (a member scored exactly "
                           "like a non-member), at rounding the allowed number of non-members (round it down), and "
                           "at np.quantile, which interpolates between scores.")
    return verdict(False, f"{where} A lower threshold would still keep FPR <= the target and flag more members. "
                       "Sort the non-members' scores to find the lowest threshold whose FPR is still <= the target, "
                       "then count the members at or above it. (sklearn's roc_curve drops some thresholds unless "
                       "you pass drop_intermediate=False.)")


def _tpr_quantity_mistake(answers: list[float], cases) -> str | None:
    """Whether the answers are, on every test case, another quantity than the rate: a count, a threshold or a
    precision (None if they are not)."""
    thresholds = [_best_threshold(s, m, f) for _, s, m, f, _ in cases]
    counts = [e * m.sum() for (*_, m, _, e) in cases]
    if all(math.isclose(a, c, abs_tol=1e-6) for a, c in zip(answers, counts)) and max(counts) > 1:
        return ("Those are counts of members above the threshold, not a rate: divide by the number of members, so "
                "the true-positive rate is a share between 0 and 1.")
    if all(np.any(np.isclose(s, a, rtol=0, atol=1e-9)) for a, (_, s, *_) in zip(answers, cases)):
        return ("Those are scores: your function seems to return a threshold. Return the true-positive rate, the "
                "share of members scoring at or above the threshold.")
    precisions = [float(np.mean(m[s >= t])) for t, (_, s, m, *_) in zip(thresholds, cases) if t is not None]
    flagged = [a for a, t in zip(answers, thresholds) if t is not None]
    if precisions and all(math.isclose(a, p, abs_tol=1e-9) for a, p in zip(flagged, precisions)):
        return ("That is the precision: the share of flagged photos that are members. The true-positive rate is "
                "the share of all members that are flagged.")
    return None


MEMBERSHIP_CHOICES = {
    "a": "Deleting the photos from storage lowered the attack's success, because the model no longer has them.",
    "b": "After storage-only deletion the attack flags as many deleted photos as before; after exact "
         "retraining it flags about as few as it would by chance.",
    "c": "A TPR of 30 % at FPR 1 % means 30 % of the photos the attack flags are really members.",
    "d": "Because AUC is above 0.5 after retraining, the retrained model still remembers the photos.",
}


def _membership_forms() -> dict[str, str]:
    """Every way of writing a choice of exercise 4b that the check accepts -> its letter: the letter alone or as
    the lesson prints it, "(b)", "b)", "option b", "answer: b", and the statement's text, with or without its
    printed "(b) " in front."""
    forms = {}
    for letter, statement in MEMBERSHIP_CHOICES.items():
        for mark in (letter, f"({letter})", f"{letter})"):
            for prefix in ("", "option ", "answer ", "answer: ", "answer is "):
                forms[prefix + mark] = letter
            forms[f"{mark} {statement}"] = letter
        forms[statement] = letter
    return forms


def membership_reading(answer: object, experiment) -> Feedback:
    """Exercise 4b: which statement (a–d in MEMBERSHIP_CHOICES) does the measured table support?"""
    if answer is None:
        return verdict(False, "You have not set answer yet: set it to one letter, 'a', 'b', 'c' or 'd'.")
    forms = _membership_forms()
    form, _ = chosen_option(answer, list(forms), "answer")
    if form is None:
        return verdict(False, f"The check cannot judge {answer!r}: set answer to one letter, 'a', 'b', 'c' or 'd' "
                           "(or paste the statement you choose).")
    letter = forms[form]
    rows = {(r.model, r.attack): r.result for r in experiment.rows}
    before, kept, retrained = (rows[(m, "LiRA")] for m in ("original model", "data-only deletion", "exact retraining"))
    if letter == "b":
        if kept.tpr_at_1pct == before.tpr_at_1pct and retrained.tpr_at_1pct <= 0.05:
            return verdict(True, f"Right. Deleting only the files left the model as it was (LiRA still "
                              f"{kept.tpr_at_1pct:.0%} at 1 % FPR); retraining took the attack down to "
                              f"{retrained.tpr_at_1pct:.0%}. With {retrained.n_nonmembers} non-members, rates "
                              "near 1 % rest on a handful of photos: read them as rough.")
        return verdict(False, "The statement is the one the lesson expects, but this run's numbers do not quite "
                           "support it; look at the retraining row and discuss why.")
    if letter == "a":
        return verdict(False, "Compare the rows 'original model' and 'data-only deletion': the numbers are identical, "
                           "because deleting files does not change a single weight.")
    if letter == "c":
        return verdict(False, "That describes precision. TPR is the share of all members that the attack flags; "
                           "FPR is the share of non-members it flags by mistake.")
    return verdict(False, "An AUC near 0.5 is chance, and AUC averages over all thresholds; a retrained model "
                       "never saw the photos, so nothing in it can remember them.")


# ------------------------------------------------------------------ exercise 5: shards


NOT_SET = ...  # the placeholder of exercise 5, where None is a possible answer ("no shard count fits")


def best_shard_count(*, deletions_per_day: float, samples_per_deletion, budget_samples_per_day: float,
                     shard_counts, accuracies, min_accuracy: float) -> int | None:
    """The shard count a careful engineer picks (None if no count meets both constraints).

    Forgetting one person retrains the samples SISA measured for each shard count
    (``samples_per_deletion``: the person's photos may sit in several shards), so a day
    costs deletions_per_day x that. Among counts within the budget and with accuracy
    >= min_accuracy, take the most accurate; on a tie, fewer shards."""
    feasible = [(acc, -s) for s, acc, cost in zip(shard_counts, accuracies, samples_per_deletion)
                if deletions_per_day * cost <= budget_samples_per_day and acc >= min_accuracy]
    return -max(feasible)[1] if feasible else None


def shard_choice(answer: object, *, deletions_per_day: float, samples_per_deletion, budget_samples_per_day: float,
                 shard_counts, accuracies, min_accuracy: float) -> Feedback:
    """Exercise 5: the number of shards for a given deletion-request rate, retraining budget and accuracy floor."""
    shard_counts = [int(s) for s in shard_counts]
    expected = best_shard_count(deletions_per_day=deletions_per_day, samples_per_deletion=samples_per_deletion,
                                budget_samples_per_day=budget_samples_per_day, shard_counts=shard_counts,
                                accuracies=accuracies, min_accuracy=min_accuracy)
    per_deletion = dict(zip(shard_counts, samples_per_deletion))
    accuracy = dict(zip(shard_counts, accuracies))
    if answer is NOT_SET:
        return verdict(False, "You have not set n_shards_choice yet: set it to one of the measured shard counts "
                           f"{shard_counts}, or to None if no count meets both the budget and the floor.")
    if answer is None and expected is None:
        return verdict(True, "Right: no shard count meets both the budget and the accuracy floor. Batch deletions, "
                          "raise the budget, or accept lower accuracy.")
    if answer is None:
        return verdict(False, "Some shard count does work: compute the daily cost of each and compare.")
    if isinstance(answer, str):
        return verdict(False, f"n_shards_choice should be a number, not text: one of the measured shard counts "
                           f"{shard_counts}, written without quotes.")
    number = as_number(answer)
    if number is None or not number.is_integer():
        return verdict(False, f"Answer with one of the measured shard counts {shard_counts}.")
    answer = int(number)
    if answer not in accuracy:
        return verdict(False, f"{answer} was not measured; choose one of {shard_counts}.")
    cost = deletions_per_day * per_deletion[answer]
    if cost > budget_samples_per_day:
        return verdict(False, f"With {answer} shard(s) forgetting one person retrains {per_deletion[answer]:,.1f} "
                           f"samples on average: {cost:,.0f} a day, over the budget of {budget_samples_per_day:,.0f}. "
                           "More shards make each deletion cheaper.")
    if accuracy[answer] < min_accuracy:
        return verdict(False, f"{answer} shards fit the budget, but accuracy falls to {accuracy[answer]:.1%}, "
                           f"below the floor of {min_accuracy:.1%}. Fewer, larger shards are more accurate.")
    if answer == expected:
        return verdict(True, f"{answer} shards: {cost:,.0f} samples retrained a day (budget "
                          f"{budget_samples_per_day:,.0f}) at {accuracy[answer]:.1%} accuracy.")
    if accuracy[expected] == accuracy[answer]:
        return verdict(False, f"{answer} shards work, but {expected} shards are just as accurate: on a tie, take fewer "
                           "shards (fewer models to store and to serve).")
    return verdict(False, f"{answer} shards work, but {expected} shards also fit the budget and the floor and are more "
                       f"accurate ({accuracy[expected]:.1%} against {accuracy[answer]:.1%}).")


# ------------------------------------------------------------------ exercise 3: which files hold the template


#: The files of exercise 3, by letter (a backup folder is named by its number on disk; here, by its role).
WAL_FILES = {
    "a": "service.db (the main database file)",
    "b": "service.db-wal (the write-ahead log)",
    "c": "index.faiss (the index file, rewritten after compaction)",
    "d": "the backup's service.db",
    "e": "the backup's index.faiss",
    "f": "the thumbnail files",
}

#: Why each file does or does not hold the template in the exercise's situation (shown for a wrong letter).
_WAL_REASONS = {
    "a": "the main database file gets pages only at a checkpoint, and none has run (the WAL holds 1,000 pages "
         "before SQLite checkpoints by itself)",
    "b": "the WAL keeps every page written since the last checkpoint, the pages of the inserts included",
    "c": "the index was compacted and its file rewritten from the compacted index, so no tombstoned vector was written",
    "d": "the backup was copied before the DELETE, so its database holds the template rows",
    "e": "the backup's index file was written before the DELETE, with every vector of the index",
    "f": "a thumbnail is a small copy of the photo's pixels: it never held the 128-number template",
}


def _file_letter(path: str) -> str | None:
    """The letter of WAL_FILES for a file of the service's folder (relative path)."""
    parts = path.split("/")
    if parts[0] == "backups":
        return {"service.db": "d", "index.faiss": "e"}.get(parts[-1], "f" if "thumbnails" in parts else None)
    return {"service.db": "a", "service.db-wal": "b", "index.faiss": "c"}.get(parts[0],
                                                                             "f" if parts[0] == "thumbnails" else None)


def measure_wal_residue() -> set[str]:
    """Exercise 3's situation, run for real: the letters of the files that still hold a deleted person's template.

    A service with ``journal_mode="WAL"`` and ``secure_delete=False`` enrols four people,
    takes a backup, then deletes person 1 with ``compact_index=True``; no checkpoint runs."""
    from ..service import FaceService

    rng = np.random.default_rng(0)
    with FaceService(rng.standard_normal((16, 8)), n_lists=2, journal_mode="WAL", secure_delete=False) as service:
        for person in (0, 1, 1, 2, 3):
            service.add(person, rng.standard_normal(8), np.full((8, 8), 50 * person, np.uint8))
        service.snapshot()
        audit = service.delete(1, compact_index=True)
        return {_file_letter(path) for path in audit.files_holding()}


def _letters(answer: object) -> tuple[set[str] | None, str | None]:
    """A learner's choice of files as a set of letters (empty if nothing chosen yet), or (None, why it cannot be read).

    Reads a set, list, tuple or numpy array of letters, or a string such as ``"bde"``, ``"b, d, e"``,
    ``"b;d;e"``, ``"bde."`` or ``"B, D and E"``; brackets and full stops around a letter are ignored."""
    if isinstance(answer, np.ndarray):
        answer = answer.ravel().tolist()
    if isinstance(answer, str):
        words = answer.replace(",", " ").replace(";", " ").split()
        items = [word for word in words if word.casefold() not in ("and", "&")]
    elif isinstance(answer, (set, frozenset, list, tuple)):
        items = list(answer)
    else:
        name = type(answer).__name__
        article = "an" if name[:1].casefold() in "aeiou" else "a"
        return None, f"Set holding to a set of letters such as {{'a', 'c'}}, not {article} {name}."
    letters = set()
    for item in items:
        letter = item.strip().strip("().").strip().casefold() if isinstance(item, str) else None
        if letter and letter.isalpha() and len(letter) > 1 and set(letter) <= set(WAL_FILES) \
                and len(items) == 1:
            letters.update(letter)  # "bde" or "bde."
            continue
        if letter not in WAL_FILES:
            return None, f"{item!r} is not one of the letters {', '.join(WAL_FILES)}: use the letters of the list."
        letters.add(letter)
    return letters, None


def wal_residue(answer: object) -> Feedback:
    """Exercise 3: which files still hold the deleted person's template bytes? Judged against a real run.

    A wrong answer is told why each letter it chose wrongly is wrong, and only how many files it is
    missing, so the feedback does not give the answer away."""
    letters, problem = _letters(answer) if answer is not None else (set(), None)
    if problem:
        return verdict(False, problem)
    if not letters:
        return verdict(False, "You have not set holding yet: set it to the set of letters of the files "
                              "that still hold the template, e.g. {'a', 'c'} (an empty set is not an answer: "
                              "at least one of these files holds it).")
    truth = measure_wal_residue()
    assert truth and truth <= set(WAL_FILES), f"the measured files {truth} are not all among the offered ones"
    if letters == truth:
        return verdict(True, "Right: measured on a real service just now, exactly " + ", ".join(
            WAL_FILES[x] for x in sorted(truth)) + " still hold the template. " + " ".join(
            f"({x}) {_WAL_REASONS[x]}." for x in sorted(truth)))
    lines = ["Not yet: a real run of this situation says otherwise."]
    lines += [f"  ({x}) does not hold it: {_WAL_REASONS[x]}." for x in sorted(letters - truth)]
    missing = len(truth - letters)
    if missing:
        lines.append(f"  {missing} file(s) that still hold the template are missing from your answer: for each "
                     "file, ask whether the template's bytes were ever written to it (at enrolment, or in a "
                     "copy), and whether anything has rewritten or removed them since.")
    return verdict(False, "\n".join(lines))
