"""The face service on real storage, and the byte-level forensics of a DELETE.

Each test reads the files themselves (raw bytes, or SQLite and faiss reading them back),
not the service's own report, so a service that said "clean" while a file still held a
template would fail here.
"""

from __future__ import annotations

import copy
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course import forensics, storage
from course.service import FaceService

DIM = 8
PEOPLE = range(4)


def _service(rng, **kwargs) -> FaceService:
    return FaceService(rng.standard_normal((16, DIM)), n_lists=2, max_backups=2, **kwargs)


def _raw_hits(service: FaceService, vectors) -> dict[str, int]:
    """File -> templates found, read with plain file reads (not the service's scan)."""
    patterns = forensics.template_patterns(vectors)
    hits = {}
    for path in service.folder.rglob("*"):
        if path.is_file():
            n = sum(single in path.read_bytes() for single, _ in patterns)
            if n:
                hits[str(path.relative_to(service.folder))] = n
    return hits


# --------------------------------------------------------------------------- the measured comparison


@pytest.mark.parametrize("mode, expected", [
    ("secure_delete=OFF", {"service.db": 10}),
    ("secure_delete=ON", {}),
    ("WAL, before a checkpoint", {"service.db-wal": 10}),
    ("WAL, after VACUUM + checkpoint", {}),
])
def test_each_sqlite_setting_leaves_what_the_lesson_says(mode, expected):
    result = forensics.delete_experiment(mode)
    assert result.found == expected
    assert result.kept_found == result.kept == 30  # nothing that was not deleted went missing


def test_the_settings_are_set_explicitly_whatever_the_build_default():
    assert forensics.delete_experiment("secure_delete=OFF").found  # even on a build whose default is ON
    assert storage.build_default_secure_delete() in (0, 1)


def test_scan_finds_float32_and_float64_copies_but_not_a_partly_overwritten_one(tmp_path):
    vectors = np.random.default_rng(1).standard_normal((3, 16))
    (tmp_path / "a").write_bytes(b"x" + vectors[0].astype(np.float32).tobytes() + b"y")
    (tmp_path / "b").write_bytes(vectors[1].astype(np.float64).tobytes())
    damaged = bytearray(vectors[2].astype(np.float32).tobytes())
    damaged[:4] = b"\0\0\0\0"
    (tmp_path / "c").write_bytes(bytes(damaged))
    assert forensics.scan_files(sorted(tmp_path.iterdir()), vectors, root=tmp_path) == {"a": 1, "b": 1}


def test_bad_experiment_settings_are_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        forensics.delete_experiment("secure_delete=MAYBE")
    with pytest.raises(ValueError, match="journal_mode must be one of"):
        storage.pragmas(False, "MEMORY")


# --------------------------------------------------------------------------- the service's files


def test_every_store_is_a_real_file_and_the_pragmas_are_the_ones_asked_for():
    rng = np.random.default_rng(2)
    with _service(rng, secure_delete=True, journal_mode="WAL") as svc:
        ids = [svc.add(p, rng.standard_normal(DIM), np.full((8, 8), p, np.uint8)) for p in (0, 0, 1)]
        svc.snapshot()
        db = sqlite3.connect(svc.folder / storage.DATABASE)
        assert db.execute("SELECT photo_id, person FROM photos ORDER BY photo_id").fetchall() == [
            (ids[0], 0), (ids[1], 0), (ids[2], 1)]
        stored = {i: np.frombuffer(v, np.float32) for i, v in db.execute("SELECT photo_id, vector FROM templates")}
        assert all(np.array_equal(stored[i], svc.embeddings[i]) for i in ids)
        assert [r[0] for r in db.execute("SELECT operation FROM access_log")] == ["add"] * 3 + ["snapshot"]
        db.close()
        assert svc.files.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert svc.files.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert np.array_equal(np.load(svc.folder / "thumbnails" / f"{ids[2]}.npy"), svc.thumbnails[ids[2]])
        centres, vectors, index_ids = storage.read_index_file(svc.folder / storage.INDEX_FILE)
        assert np.array_equal(centres, svc.index.centroids) and sorted(index_ids) == ids
        backup = svc.files.backup_folder(svc.backups[0].step)
        assert sqlite3.connect(backup / storage.DATABASE).execute("SELECT count(*) FROM templates").fetchone() == (3,)
        folder = svc.folder
    assert not folder.exists()  # a temporary folder goes with the service


def test_a_folder_given_by_the_caller_is_kept_and_never_overwritten(tmp_path):
    rng = np.random.default_rng(3)
    svc = _service(rng, folder=tmp_path)
    svc.add(0, rng.standard_normal(DIM))
    svc.close()
    assert (tmp_path / storage.DATABASE).exists()
    with pytest.raises(FileExistsError, match="needs an empty folder"):
        _service(rng, folder=tmp_path)


def test_default_delete_audit_names_each_file_that_holds_the_template_and_its_remedy():
    rng = np.random.default_rng(4)
    with _service(rng, journal_mode="WAL") as svc:
        for p in (0, 1, 1, 2):
            svc.add(p, rng.standard_normal(DIM))
        svc.snapshot()
        theirs = np.stack([svc.embeddings[i] for i in (1, 2)])
        audit = svc.delete(1)
        assert _raw_hits(svc, theirs) == {f.path: f.templates for f in audit.files}
        remedies = {f.path: f.remedy for f in audit.files}
        assert "checkpoint" in remedies["service.db-wal"]
        assert "compact" in remedies["index.faiss"]
        assert all("backup" in r for p, r in remedies.items() if p.startswith("backups/"))
        assert not audit.clean and "files on disk that still hold" in str(audit)
        after = svc.remedy(audit)
        assert after.clean and _raw_hits(svc, theirs) == {}


# --------------------------------------------------------------------------- properties


@st.composite
def scenarios(draw):
    owners = draw(st.lists(st.sampled_from(list(PEOPLE)), min_size=3, max_size=10))
    person = draw(st.sampled_from(owners))
    snapshot_after = draw(st.sets(st.integers(0, len(owners) - 1), max_size=2))
    options = draw(st.fixed_dictionaries({k: st.booleans() for k in
                                          ("compact_index", "scrub_logs", "purge_backups", "retrain")}))
    return owners, person, snapshot_after, options, draw(st.booleans()), draw(st.sampled_from(storage.JOURNAL_MODES))


@settings(max_examples=12)
@given(scenario=scenarios(), seed=st.integers(0, 2**16))
def test_after_delete_and_the_named_remedies_no_file_holds_the_person_and_nothing_else_is_lost(scenario, seed):
    owners, person, snapshot_after, options, secure_delete, journal_mode = scenario
    rng = np.random.default_rng(seed)
    with _service(rng, secure_delete=secure_delete, journal_mode=journal_mode) as svc:
        for n, owner in enumerate(owners):
            svc.add(owner, rng.standard_normal(DIM))
            if n in snapshot_after:
                svc.snapshot()
        theirs = np.stack([v for i, v in svc.embeddings.items() if svc.photos[i].person == person])
        others = {i: v for i, v in svc.embeddings.items() if svc.photos[i].person != person}
        expected = {i: [(j, p) for j, p, _ in svc.search(v, k=len(owners)) if p != person] for i, v in others.items()}
        audit = svc.remedy(svc.delete(person, **options))
        assert audit.clean, str(audit)
        assert _raw_hits(svc, theirs) == {}
        assert svc.files.templates().keys() == others.keys()  # the live database kept everyone else
        if others:
            assert set(_raw_hits(svc, np.stack(list(others.values())))) >= {"service.db", "index.faiss"}
        for i, v in others.items():
            assert [(j, p) for j, p, _ in svc.search(v, k=len(owners))] == expected[i]


@settings(max_examples=10)
@given(owners=st.lists(st.sampled_from(list(PEOPLE)), min_size=2, max_size=8), seed=st.integers(0, 2**16),
       journal_mode=st.sampled_from(storage.JOURNAL_MODES))
def test_a_restore_from_a_backup_re_applies_the_ledger_on_disk_too(owners, seed, journal_mode):
    rng = np.random.default_rng(seed)
    person = owners[0]
    with _service(rng, journal_mode=journal_mode) as svc:
        for owner in owners:
            svc.add(owner, rng.standard_normal(DIM))
        svc.snapshot()
        theirs = np.stack([v for i, v in svc.embeddings.items() if svc.photos[i].person == person])
        others = sorted(i for i, p in svc.photos.items() if p.person != person)
        svc.delete(person)  # the backup still holds them
        svc.restore(0)
        assert sorted(svc.files.templates()) == others
        assert not any(p.person == person for p in svc.photos.values())
        assert all(hit[1] != person for v in theirs for hit in svc.search(v, k=len(owners)))
        audit = svc.remedy(svc.delete(person))
        assert audit.clean and _raw_hits(svc, theirs) == {}


def test_a_deep_copy_has_its_own_folder_with_the_same_bytes():
    rng = np.random.default_rng(5)
    with _service(rng) as svc:
        for p in (0, 1):
            svc.add(p, rng.standard_normal(DIM))
        svc.snapshot()
        with copy.deepcopy(svc) as clone:
            assert clone.folder != svc.folder
            assert {p.relative_to(clone.folder) for p in clone.files.files()} == \
                {p.relative_to(svc.folder) for p in svc.files.files()}
            clone.delete(0)
            assert sorted(svc.files.templates()) == [0, 1] and sorted(clone.files.templates()) == [1]


def test_folders_left_by_an_ended_process_are_removed_and_a_live_ones_kept(tmp_path, monkeypatch):
    from course import service as sv

    monkeypatch.setattr(sv, "_MEMORY_FOLDER", tmp_path)
    monkeypatch.setattr(sv.os, "statvfs", lambda _: type("S", (), {"f_bavail": 2**30, "f_frsize": 1})())
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True).stdout.strip()
    (tmp_path / f"faces-service-{ended}-abc").mkdir()
    (tmp_path / f"faces-service-{os.getppid()}-def").mkdir()  # a live process (the one that started pytest)
    made = Path(sv._temporary_folder())
    assert made.parent == tmp_path and made.name.startswith(f"faces-service-{os.getpid()}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([made.name, f"faces-service-{os.getppid()}-def"])
