"""The face service: what the audit calls clean stays clean, and every search answers as a fresh one would.

The property tests drive :class:`course.service.FaceService` with arbitrary sequences of
add / search / train / snapshot / restore / delete / compact on small random 8-d vectors,
plus invalid adds, searches and restores, keep their own record of which photo ids belong
to whom, and inspect the raw stores (not the service's own scan) after every step.
Every search is compared with a brute-force search over the live embedding store.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from course import service as sv

DIM = 8
PEOPLE = range(6)
N_LISTS = 3

#: Embeddings that ``add`` must refuse, each leaving every store untouched.
BAD_EMBEDDINGS = {
    "too short": np.ones(DIM - 1),
    "too long": np.ones(2 * DIM),
    "two faces at once": np.ones((2, DIM)),
    "empty": np.array([]),
    "NaN": np.r_[np.nan, np.ones(DIM - 1)],
    "infinity": np.r_[np.ones(DIM - 1), np.inf],
    "too large for float32": np.r_[1e39, np.ones(DIM - 1)],
    "text": np.array(["a"] * DIM),
    "complex": np.ones(DIM) * 1j,
}


def _raw_holdings(service: sv.FaceService, ids: set[int], person: int) -> dict[str, bool]:
    """Does each store hold anything of these photo ids / this person? Read straight from the stores."""
    id_list = sorted(ids)
    return {
        "photos": bool(ids & set(service.photos)),
        "thumbnails": bool(ids & set(service.thumbnails)),
        "embeddings": bool(ids & set(service.embeddings)),
        "index": bool(np.isin(service.index.stored_ids(), id_list).any()),
        "cache": any(pid in ids for entry in service.cache.values() for pid, _, _ in entry.results),
        "access_log": any(pid in ids for entry in service.access_log for pid in entry.photo_ids),
        "backups": any(ids & set(b.photos) or np.isin(b.index.stored_ids(), id_list).any() for b in service.backups),
        "classifier": service.classifier is not None and person in set(service.classifier.classes_.tolist()),
        "index_centroids": person in service.centroid_people,
    }


def _store_state(service: sv.FaceService):
    """Everything an add could change: ids in every photo-keyed store, the index's ids, the log, the next id."""
    return (sorted(service.photos), sorted(service.thumbnails), sorted(service.embeddings),
            sorted(service.index.stored_ids().tolist()), len(service.access_log), service._next_id,
            len(service.cache))


def _check_search(service: sv.FaceService, query: np.ndarray, k: int, n_probe: int | None, results) -> None:
    """Results equal a fresh search: exact ones equal brute force over the live embeddings.

    Distances are compared squared, within float32 rounding: the index computes
    ||q||^2 - 2 q.g + ||g||^2 in float32, whose error grows with the norms (an identical
    vector of norm 6 comes out at distance ~0.002, not 0)."""
    assert all(person == service.photos[photo_id].person for photo_id, person, _ in results)
    true = {i: float(np.sum((v.astype(np.float64) - query) ** 2)) for i, v in service.embeddings.items()}
    norms = {i: float(np.sum(v.astype(np.float64) ** 2)) for i, v in service.embeddings.items()}
    rounding = 1e-5 * (float(query @ query) + max(norms.values(), default=0.0)) + 1e-9
    squared = [d * d for _, _, d in results]
    assert squared == sorted(squared)
    for (photo_id, _, _), found in zip(results, squared):  # each hit is live, at its true distance
        assert found == pytest.approx(true[photo_id], abs=rounding)
    if n_probe is None or n_probe >= service.index.n_lists:
        expected = sorted(true.values())[:k]
    else:  # the lists probed by a fresh, uncached search of the index as it is now
        fresh, ids = service.index.search(query[None, :].astype(np.float32), k, n_probe)
        expected = [float(d) ** 2 for d, i in zip(fresh[0], ids[0]) if i >= 0]
    assert squared == pytest.approx(expected, abs=rounding)


class DeletionMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.owned: dict[int, set[int]] = {p: set() for p in PEOPLE}
        self.audits: dict[int, sv.DeletionAudit] = {}
        self.last_search = None  # (query, k, n_probe)

    @initialize(centres_from_people=st.booleans(), backup_first=st.booleans())
    def start(self, centres_from_people, backup_first=False):
        """Index centres learned from random vectors, or from vectors said to be people 0-5's;
        perhaps a first backup taken before anyone is enrolled."""
        rng = np.random.default_rng(0)
        people = np.repeat(list(PEOPLE), 4) if centres_from_people else None
        self.service = sv.FaceService(rng.standard_normal((24, DIM)), people, n_lists=N_LISTS, max_backups=3)
        if backup_first:
            self.service.snapshot()

    def _live(self):
        return [p for p in PEOPLE if p not in self.audits]

    @rule(person=st.sampled_from(list(PEOPLE)), seed=st.integers(0, 2**16))
    def add(self, person, seed):
        vector = np.random.default_rng(seed).standard_normal(DIM) + person
        if person in self.audits:
            with pytest.raises(ValueError):
                self.service.add(person, vector)
            return
        self.owned[person].add(self.service.add(person, vector, np.full((8, 8, 3), person, np.uint8)))

    @rule(person=st.sampled_from(list(PEOPLE)), kind=st.sampled_from(sorted(BAD_EMBEDDINGS)))
    def add_invalid(self, person, kind):
        """A refused add stores nothing: no orphan photo, thumbnail, embedding, index entry or log line."""
        before = _store_state(self.service)
        with pytest.raises(ValueError):
            self.service.add(person, BAD_EMBEDDINGS[kind])
        assert _store_state(self.service) == before

    @rule(seed=st.integers(0, 2**16), k=st.one_of(st.integers(1, 4), st.integers(250, 300)), reuse=st.booleans(),
          n_probe=st.sampled_from([None, *range(1, N_LISTS + 2)]))
    def search(self, seed, k, reuse, n_probe):
        if reuse and self.service.embeddings:
            query = self.service.embeddings[sorted(self.service.embeddings)[seed % len(self.service.embeddings)]]
        else:
            query = np.random.default_rng(seed).standard_normal(DIM) * 3
        self.last_search = (np.array(query), k, n_probe)
        self._search_and_check(query, k, n_probe)

    @invariant()
    def the_last_search_still_gets_a_right_answer(self):
        """The last search again, after whatever step came since: a cached answer must still be right."""
        if self.last_search is not None:
            self._search_and_check(*self.last_search)

    def _search_and_check(self, query, k, n_probe):
        results = self.service.search(query, k=k, n_probe=n_probe)
        for photo_id, person, _ in results:
            assert person not in self.audits, "search returned a deleted person"
            assert photo_id in self.owned[person]
        _check_search(self.service, np.asarray(query, np.float64), k, n_probe, results)

    @rule(k=st.sampled_from([0, -1, 1.5, True, "2", None]))
    def search_invalid_k(self, k):
        with pytest.raises(ValueError, match="k .* whole number >= 1"):
            self.service.search(np.zeros(DIM), k=k)

    @rule()
    def train(self):
        self.service.train_classifier()

    @rule()
    def snapshot(self):
        self.service.snapshot()

    @precondition(lambda self: self.service.backups)
    @rule(which=st.integers(0, 10))
    def restore(self, which):
        self.service.restore(which % len(self.service.backups))

    @precondition(lambda self: not self.service.backups)
    @rule()
    def restore_without_backups(self):
        before = _store_state(self.service)
        with pytest.raises(RuntimeError, match="no backup to restore"):
            self.service.restore()
        assert _store_state(self.service) == before

    @rule()
    def compact(self):
        self.service.index.compact()

    @precondition(lambda self: self._live())
    @rule(data=st.data(), compact_index=st.booleans(), scrub_logs=st.booleans(), purge_backups=st.booleans(),
          retrain=st.booleans())
    def delete(self, data, compact_index, scrub_logs, purge_backups, retrain):
        self.delete_person(data.draw(st.sampled_from(self._live())), compact_index=compact_index,
                           scrub_logs=scrub_logs, purge_backups=purge_backups, retrain=retrain)

    def delete_person(self, person, *, compact_index, scrub_logs, purge_backups, retrain):
        before = _raw_holdings(self.service, self.owned[person], person)
        audit = self.service.delete(person, compact_index=compact_index, scrub_logs=scrub_logs,
                                    purge_backups=purge_backups, retrain=retrain)
        self.audits[person] = audit
        after = _raw_holdings(self.service, self.owned[person], person)
        for row in audit.rows:
            # The audit neither hides residue nor invents it.
            assert (row.status in (sv.STILL_PRESENT, sv.NEEDS_RETRAINING)) == after[row.store], row
            assert (row.status == sv.REMOVED) == (before[row.store] and not after[row.store]), row
            assert (row.status == sv.NEEDS_RETRAINING) == (after[row.store] and row.store in sv.MODELS), row
        # The primary copies always go, whatever the options.
        assert not (after["photos"] or after["thumbnails"] or after["embeddings"] or after["cache"])
        if compact_index:
            assert not after["index"]
        if purge_backups:
            assert not after["backups"]
        if scrub_logs:
            assert not after["access_log"]

    @invariant()
    def cleaned_stores_stay_clean(self):
        for person, audit in self.audits.items():
            holdings = _raw_holdings(self.service, self.owned[person], person)
            for store in audit.cleaned():
                assert not holdings[store], f"person {person}: audit said {store} was clean"
            # Whatever the audit said, a deleted person is never searchable and never in the primary stores.
            for store in ("photos", "thumbnails", "embeddings", "cache"):
                assert not holdings[store], f"person {person} is back in {store}"

    @invariant()
    def index_is_consistent_with_the_photo_store(self):
        searchable = set(np.setdiff1d(self.service.index.stored_ids(), self.service.index.tombstoned_ids()).tolist())
        assert searchable == set(self.service.embeddings) == set(self.service.photos)


# Examples, randomness and deadline come from the Hypothesis profile (tests/conftest.py).
DeletionMachine.TestCase.settings = settings(stateful_step_count=25)
TestDeletionProperties = DeletionMachine.TestCase


def test_regression_a_replayed_restore_does_not_bring_back_centres_learned_from_a_deleted_person():
    """Hypothesis's shrunk counterexample (issue 14), replayed step by step with the invariants checked."""
    machine = DeletionMachine()
    machine.start(centres_from_people=True)
    machine.snapshot()
    machine.add(person=0, seed=0)
    machine.delete_person(1, retrain=True, compact_index=False, purge_backups=False, scrub_logs=False)
    assert machine.audits[1].status("index_centroids") == sv.REMOVED
    machine.restore(which=0)
    machine.cleaned_stores_stay_clean()
    machine.index_is_consistent_with_the_photo_store()
    assert 1 not in machine.service.centroid_people


# --------------------------------------------------------------------------- examples


@pytest.fixture
def service():
    rng = np.random.default_rng(1)
    svc = sv.FaceService(rng.standard_normal((30, DIM)), n_lists=3)
    for person in range(4):
        for _ in range(3):
            svc.add(person, rng.standard_normal(DIM) + 3 * person)
    svc.train_classifier()
    return svc


def test_default_delete_leaves_tombstones_backups_logs_and_model(service):
    service.search(service.embeddings[3], k=2)  # a search whose results name person 1
    service.snapshot()
    audit = service.delete(1)
    assert audit.residue() == ["index", "access_log", "backups", "classifier"]
    assert audit.status("cache") == sv.REMOVED
    assert audit.status("index_centroids") == sv.NOT_PRESENT  # centres came from random vectors
    # Tombstoned vectors are still physically there, bit for bit.
    assert np.array_equal(service.index.stored_vector(3), service.backups[0].embeddings[3])
    assert service.recognise(service.backups[0].embeddings[3])[0] == 1  # the model still knows them
    assert "index" in str(audit) and "needs retraining" in str(audit)


def test_a_backup_restored_without_the_ledger_brings_the_person_back(service):
    service.snapshot()
    query = service.embeddings[4]
    service.delete(1)
    assert all(person != 1 for _, person, _ in service.search(query, k=3))
    service.restore(0, replay_deletions=False)
    assert service.search(query, k=1)[0][1] == 1
    service.restore(0)  # with the ledger, the deletion is applied again
    assert all(person != 1 for _, person, _ in service.search(query, k=3))


def test_full_delete_cleans_everything_and_retrains(service):
    service.snapshot()
    audit = service.delete(2, compact_index=True, scrub_logs=True, purge_backups=True, retrain=True)
    assert audit.residue() == []
    assert 2 not in service.classifier.classes_
    assert service.find(2) == dict.fromkeys(sv.STORES, 0)


def test_index_centres_learned_from_a_person_need_retraining():
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((12, DIM))
    people = np.repeat([0, 1, 2], 4)
    svc = sv.FaceService(vectors, people, n_lists=3)
    for v, p in zip(vectors, people):
        svc.add(p, v)
    assert svc.delete(0, compact_index=True).status("index_centroids") == sv.NEEDS_RETRAINING
    assert svc.delete(1, compact_index=True, retrain=True).status("index_centroids") == sv.REMOVED
    assert svc.centroid_people == {2}


def test_stale_cache_would_answer_with_a_deleted_person_unless_invalidated(service):
    query = service.embeddings[0]
    service.search(query, k=1)
    key = next(iter(service.cache))
    service.delete(0)
    assert key not in service.cache  # the cached answer naming person 0 is gone
    assert service.search(query, k=1)[0][1] != 0


def test_faiss_remove_ids_really_removes_but_backups_and_centroids_remain():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((200, DIM))
    report = sv.faiss_ivf_removal(vectors, np.arange(200), [5, 6, 7, 999])
    assert (report.asked, report.removed) == (4, 3)  # the unknown id is skipped silently
    assert report.ntotal_after == report.ntotal_before - 3
    assert (report.found_before, report.found_after, report.found_after_restore) == (3, 0, 3)
    assert report.bytes_after < report.bytes_before
    assert report.centroids_unchanged
    assert "not implemented" in report.hnsw_error


# --------------------------------------------------------------------------- bugs found by the review (issue 14)


def test_a_replayed_restore_of_a_backup_with_no_embeddings_keeps_centres_learned_without_the_deleted():
    rng = np.random.default_rng(0)
    svc = sv.FaceService(rng.standard_normal((24, DIM)), np.repeat(list(PEOPLE), 4), n_lists=N_LISTS)
    svc.snapshot()  # centres learned from people 0-5, no photo enrolled yet
    svc.add(0, rng.standard_normal(DIM))
    assert svc.delete(1, retrain=True).status("index_centroids") == sv.REMOVED
    svc.restore(0)
    assert svc.find(1)["index_centroids"] == 0 and svc.centroid_people == {0}
    assert svc.photos == {} and svc.index.n_stored == 0


def test_a_search_after_an_add_finds_the_new_photo():
    rng = np.random.default_rng(4)
    svc = sv.FaceService(rng.standard_normal((24, DIM)), n_lists=N_LISTS)
    query = rng.standard_normal(DIM)
    assert svc.search(query, k=1) == []
    photo_id = svc.add(0, query)
    assert svc.search(query, k=1) == [(photo_id, 0, pytest.approx(0.0, abs=1e-3))]


def test_a_new_photo_is_not_hidden_behind_a_stale_cached_hit(service):
    query = service.embeddings[0] + 5.0
    first = service.search(query, k=1)[0]
    assert first[2] > 1
    photo_id = service.add(3, query)
    assert service.search(query, k=1)[0][:2] == (photo_id, 3)


def test_the_cache_tells_searches_with_different_n_probe_apart():
    rng = np.random.default_rng(5)
    training = np.r_[rng.standard_normal((10, DIM)) - 20, rng.standard_normal((10, DIM)) + 20]
    svc = sv.FaceService(training, n_lists=2)
    photo_id = svc.add(0, np.full(DIM, 20.0))  # in the list far from the query
    query = np.full(DIM, -20.0)
    assert svc.search(query, k=1, n_probe=1) == []  # only the near, empty list is scanned
    assert [hit[0] for hit in svc.search(query, k=1, n_probe=2)] == [photo_id]
    assert [hit[0] for hit in svc.search(query, k=1)] == [photo_id]  # None: every list


@pytest.mark.parametrize("k", [256, 300, 10**9])
def test_k_larger_than_the_gallery_returns_every_photo(service, k):
    assert len(service.search(service.embeddings[0], k=k)) == len(service.photos)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3", None])
def test_k_must_be_a_positive_whole_number(service, k):
    with pytest.raises(ValueError, match=r"k \(how many nearest photos to return\) must be a whole number >= 1"):
        service.search(service.embeddings[0], k=k)


@pytest.mark.parametrize("n_probe", [0, -1, 1.0, True, "2"])
def test_n_probe_must_be_a_positive_whole_number(service, n_probe):
    with pytest.raises(ValueError, match=r"n_probe \(index lists to scan\) must be a whole number >= 1"):
        service.search(service.embeddings[0], k=1, n_probe=n_probe)


def test_n_probe_above_the_number_of_lists_scans_them_all_even_after_the_index_shrinks():
    """Explore-profile counterexample: re-learning the centres from one vector leaves one list."""
    rng = np.random.default_rng(7)
    svc = sv.FaceService(rng.standard_normal((24, DIM)), np.repeat(list(PEOPLE), 4), n_lists=N_LISTS)
    photo_id = svc.add(0, rng.standard_normal(DIM))
    svc.delete(1, retrain=True)
    assert svc.index.n_lists == 1
    assert [hit[0] for hit in svc.search(svc.embeddings[photo_id], k=1, n_probe=2)] == [photo_id]
    assert len(svc.cache) == 1
    svc.search(svc.embeddings[photo_id], k=1)  # the same scan: answered from the cache
    assert len(svc.cache) == 1


@pytest.mark.parametrize("kind, message", [
    ("too short", f"has {DIM - 1} numbers; this service's vectors have {DIM}"),
    ("too long", f"has {2 * DIM} numbers"),
    ("two faces at once", r"shape \(2, 8\): pass one face at a time"),
    ("empty", "has 0 numbers"),
    ("NaN", "NaN or infinity"),
    ("infinity", "NaN or infinity"),
    ("too large for float32", "too large for float32"),
    ("text", "real numbers"),
    ("complex", "real numbers"),
])
def test_add_refuses_a_bad_embedding_before_storing_anything(service, kind, message):
    before = _store_state(service)
    with pytest.raises(ValueError, match=message):
        service.add(0, BAD_EMBEDDINGS[kind], np.zeros((8, 8, 3), np.uint8))
    assert _store_state(service) == before
    service.snapshot()
    service.restore()
    service.train_classifier()  # no orphan to crash it
    assert len(service.photos) == len(service.embeddings) == service.index.n_searchable


def test_add_accepts_one_vector_written_as_a_row_and_refuses_bad_people_and_images(service):
    photo_id = service.add(0, np.ones((1, DIM)))
    assert service.embeddings[photo_id].shape == (DIM,)
    before = _store_state(service)
    for person in (1.5, True, "0"):
        with pytest.raises(TypeError, match="person must be a whole number"):
            service.add(person, np.ones(DIM))
    with pytest.raises(ValueError, match="image must be"):
        service.add(0, np.ones(DIM), np.zeros(5))
    assert _store_state(service) == before


def test_search_and_recognise_refuse_a_bad_query(service):
    with pytest.raises(ValueError, match="the query has 64 numbers"):
        service.search(np.ones(64))
    with pytest.raises(ValueError, match="the embedding contains NaN"):
        service.recognise(np.full(DIM, np.nan))


def test_restore_without_a_backup_or_with_a_wrong_number_says_so(service):
    with pytest.raises(RuntimeError, match=r"no backup to restore: take one with snapshot\(\) first"):
        service.restore()
    service.snapshot()
    with pytest.raises(IndexError, match="no backup number 1: there are 1, numbered 0 to 0"):
        service.restore(1)
    service.restore(-1)


def test_scrubbing_the_log_says_the_delete_entry_is_kept_and_why(service):
    audit = service.delete(1, scrub_logs=True)
    row = next(r for r in audit.rows if r.store == "access_log")
    assert row.status == sv.REMOVED
    assert "keeps its 'delete' entry with their number" in row.why
    assert [e.person for e in service.access_log if e.operation == "delete"] == [1]


def test_retraining_the_index_on_duplicate_vectors_makes_no_more_cells_than_distinct_points():
    svc = sv.FaceService(np.random.default_rng(6).standard_normal((12, DIM)), np.repeat([0, 1, 2], 4), n_lists=3)
    svc.add(0, np.ones(DIM))
    svc.add(0, np.ones(DIM))
    svc.delete(1, retrain=True)  # re-learns the centres from two identical vectors
    assert svc.index.n_lists == 1
