"""The face service's delete: what the audit calls clean is clean, whatever happened before and after.

The property tests drive :class:`course.service.FaceService` with arbitrary sequences of
add / search / train / snapshot / restore / delete / compact on small random 8-d vectors,
keep their own record of which photo ids belong to whom, and inspect the raw stores
(not the service's own scan) after every step.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from course import service as sv

DIM = 8
PEOPLE = range(6)


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


class DeletionMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.owned: dict[int, set[int]] = {p: set() for p in PEOPLE}
        self.audits: dict[int, sv.DeletionAudit] = {}

    @initialize(centres_from_people=st.booleans())
    def start(self, centres_from_people):
        """Index centres learned from random vectors, or from vectors said to be people 0-5's."""
        rng = np.random.default_rng(0)
        people = np.repeat(list(PEOPLE), 4) if centres_from_people else None
        self.service = sv.FaceService(rng.standard_normal((24, DIM)), people, n_lists=3, max_backups=3)

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

    @rule(seed=st.integers(0, 2**16), k=st.integers(1, 3), reuse=st.booleans())
    def search(self, seed, k, reuse):
        if reuse and self.service.embeddings:
            query = self.service.embeddings[sorted(self.service.embeddings)[seed % len(self.service.embeddings)]]
        else:
            query = np.random.default_rng(seed).standard_normal(DIM) * 3
        for photo_id, person, _ in self.service.search(query, k=k):
            assert person not in self.audits, "search returned a deleted person"
            assert photo_id in self.owned[person]

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

    @rule()
    def compact(self):
        self.service.index.compact()

    @precondition(lambda self: self._live())
    @rule(data=st.data(), compact_index=st.booleans(), scrub_logs=st.booleans(), purge_backups=st.booleans(),
          retrain=st.booleans())
    def delete(self, data, compact_index, scrub_logs, purge_backups, retrain):
        person = data.draw(st.sampled_from(self._live()))
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


DeletionMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                                             suppress_health_check=[HealthCheck.too_slow])
TestDeletionProperties = DeletionMachine.TestCase


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
