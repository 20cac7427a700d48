"""A small face search service with every store a real one has, and a delete that reports honestly.

Lesson 04 asks: when a company honours a deletion request, how much of the person is
left in its systems? :class:`FaceService` answers by keeping the stores a real face
search service keeps, each a plain attribute you can inspect:

==================  ===========================================================
``photos``          photo id -> :class:`Photo` (the person's number and the image)
``thumbnails``      photo id -> a small copy derived from the photo (for result pages)
``embeddings``      photo id -> the face's vector (the *template*)
``index``           a :class:`course.search.IVFIndex` over the embeddings (lazy remove)
``cache``           recent searches: (query, k, n_probe) -> :class:`CachedSearch`
``access_log``      one :class:`LogEntry` per add, search, delete, snapshot, restore
``backups``         nightly snapshots of photos, thumbnails, embeddings and index
``classifier``      a scikit-learn model trained on the embeddings (who is this?)
``index centroids`` the index's k-means centres, learned from training vectors
==================  ===========================================================

Those are the live structures, in memory. Every change is also written to real storage
in one folder per service (:mod:`course.storage`): an SQLite database for photo metadata,
templates and the access log; photos and thumbnails as files; the index as a faiss file;
each backup as a folder (the database copied with SQLite's online backup API, the index
file, the photo files). The cache stays in memory only.

:meth:`FaceService.delete` removes what it can and returns a :class:`DeletionAudit`,
store by store: *removed*, *still present* (and why), *needs retraining* (a trained
model), or *not present*. The audit is not a statement of intent: it is made by
scanning every store after the deletion (:meth:`FaceService.find`) and the raw bytes of
every file the service wrote (:mod:`course.forensics`): a DELETE committed to SQLite can
leave the template's bytes in the database's free space, in its write-ahead log, in the
index file and in every backup. :meth:`FaceService.remedy` applies what the audit names
(VACUUM followed by a WAL checkpoint, a compacted index file, re-made backups).

Deleted people go on a *deletion ledger* (their number and photo ids, no face data),
so that :meth:`FaceService.restore` can re-apply deletions to an old backup, and so
that the person is not added again. The UK ICO's right-to-erasure guidance speaks of
putting personal data held in backups "beyond use"
(https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/individual-rights/individual-rights/right-to-erasure/);
a restore that brought a deleted person back into the live stores would do the opposite.

Every input is checked before anything is stored: a vector of the wrong length or
shape, or holding NaN or infinity, is refused with a specific ``ValueError`` and
leaves every store as it was.

:func:`faiss_ivf_removal` shows what faiss's ``remove_ids`` really does to an
``IndexIVFFlat``, for comparison with the course index's lazy remove.
"""

from __future__ import annotations

import copy
import numbers
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .forensics import scan_files
from .search import IVFIndex
from .storage import DATABASE, INDEX_FILE, ServiceFiles

#: Every store the service has, in the order audits list them.
STORES = ("photos", "thumbnails", "embeddings", "index", "cache", "access_log", "backups", "classifier",
          "index_centroids")
#: Stores that are trained models: data cannot be taken out of them, only retrained away.
MODELS = ("classifier", "index_centroids")

REMOVED = "removed"
STILL_PRESENT = "still present"
NEEDS_RETRAINING = "needs retraining"
NOT_PRESENT = "not present"


@dataclass(frozen=True)
class Photo:
    """One enrolled photo: whose face it is (a person number) and the image."""

    person: int
    image: np.ndarray


@dataclass
class CachedSearch:
    """A remembered search result: the query vector and the (photo id, person, distance) hits."""

    query: np.ndarray
    results: list[tuple[int, int, float]]


@dataclass
class LogEntry:
    """One line of the access log: what happened, at which step, to which photo ids."""

    step: int
    operation: str
    photo_ids: list[int]
    person: int | None = None


@dataclass
class Backup:
    """A snapshot of the data stores (not the cache, log or models) at one step."""

    step: int
    photos: dict[int, Photo]
    thumbnails: dict[int, np.ndarray]
    embeddings: dict[int, np.ndarray]
    index: IVFIndex
    centroid_people: frozenset[int]  # whose vectors the saved index's centres were learned from


@dataclass(frozen=True)
class StoreAudit:
    """What a deletion left in one store."""

    store: str
    status: str  # REMOVED, STILL_PRESENT, NEEDS_RETRAINING or NOT_PRESENT
    items_left: int  # photos, vectors, entries or backups of the person still there (models: 1 if trained on them)
    why: str


@dataclass(frozen=True)
class FileAudit:
    """One file on disk that still holds some of the person's template bytes, and what would remove them."""

    path: str  # relative to the service's folder
    templates: int  # how many of the person's templates its raw bytes hold, byte for byte
    remedy: str


@dataclass
class DeletionAudit:
    """The store-by-store result of :meth:`FaceService.delete`, and the files that still hold the person.

    ``files`` comes from scanning the raw bytes of every file the service wrote for the
    person's templates. To do that scan again later (:meth:`FaceService.remedy`), the audit
    keeps those templates in memory (``templates``, not shown): it is face data, so discard
    the audit once the deletion is done."""

    person: int
    rows: list[StoreAudit]
    files: list[FileAudit] = field(default_factory=list)
    templates: np.ndarray = field(default=None, repr=False)

    def status(self, store: str) -> str:
        """The status of one store."""
        return next(row.status for row in self.rows if row.store == store)

    def cleaned(self) -> list[str]:
        """Stores the audit says hold nothing of the person any more."""
        return [row.store for row in self.rows if row.status in (REMOVED, NOT_PRESENT)]

    def residue(self) -> list[str]:
        """Stores that still hold, or were trained on, the person's data."""
        return [row.store for row in self.rows if row.status in (STILL_PRESENT, NEEDS_RETRAINING)]

    def files_holding(self) -> list[str]:
        """Files (relative to the service's folder) whose bytes still hold one of the person's templates."""
        return [f.path for f in self.files]

    @property
    def clean(self) -> bool:
        """True when no store holds or was trained on the person, and no file holds their template bytes."""
        return not self.residue() and not self.files

    def __str__(self) -> str:
        lines = [f"Deletion audit for person {self.person}",
                 f"{'store':<16} {'status':<17} {'left':>4}  why"]
        lines += [f"{r.store:<16} {r.status:<17} {r.items_left:>4}  {r.why}" for r in self.rows]
        n = 0 if self.templates is None else len(self.templates)
        if not self.files:
            lines.append(f"files on disk: none holds any of their {n} template(s) byte for byte")
        else:
            lines.append(f"files on disk that still hold their template bytes (of {n}):")
            width = max(len(f.path) for f in self.files)
            lines += [f"  {f.path:<{width}} {f.templates:>3}  remedy: {f.remedy}" for f in self.files]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table, not a dataclass repr
        printer.text(str(self))


class FaceService:
    """A face search service: enrol photos, search by face, recognise, back up, restore, delete.

    Args:
        index_training: vectors to learn the index's k-means centres from (a real
            deployment trains on a sample of its gallery).
        index_training_people: the person number of each training vector, or None
            if the vectors belong to nobody enrolled (e.g. random vectors). The audit
            uses it to say whether the centres were learned from a deleted person.
        n_lists: number of index lists (k-means cells); at most len(index_training).
        max_backups: nightly backups kept; older ones expire.
        thumbnail_step: thumbnails keep every n-th pixel of the photo.
        seed: seeds k-means and the classifier.
        folder: where the service writes its files (:mod:`course.storage`): an empty or new
            folder, kept afterwards; None (the default) makes a temporary folder that is
            removed by :meth:`close` or when the service is garbage-collected.
        secure_delete, journal_mode: the SQLite settings that decide which deleted bytes stay
            in the database files (see :func:`course.storage.pragmas`; set explicitly, never
            left to the build's default).
    """

    def __init__(self, index_training: ArrayLike, index_training_people: ArrayLike | None = None, *,
                 n_lists: int = 4, max_backups: int = 7, thumbnail_step: int = 4, seed: int = 0,
                 folder: str | Path | None = None, secure_delete: bool = False, journal_mode: str = "DELETE") -> None:
        self.seed = seed
        self.n_lists = n_lists
        self.max_backups = max_backups
        self.thumbnail_step = thumbnail_step
        self.photos: dict[int, Photo] = {}
        self.thumbnails: dict[int, np.ndarray] = {}
        self.embeddings: dict[int, np.ndarray] = {}
        self.cache: dict[bytes, CachedSearch] = {}
        self.access_log: list[LogEntry] = []
        self.backups: list[Backup] = []
        self.classifier = None
        self.classifier_people: frozenset[int] = frozenset()
        self.ledger: dict[int, dict] = {}  # person -> {"photo_ids": [...], "options": {...}}
        self.step = 0
        self._next_id = 0
        self._fit_index(np.asarray(index_training, dtype=np.float32),
                        None if index_training_people is None else np.asarray(index_training_people))
        owned = folder is None
        self.files = ServiceFiles(_temporary_folder() if owned else folder,
                                  secure_delete=secure_delete, journal_mode=journal_mode)
        self._closer = weakref.finalize(self, _close_files, self.files, owned)
        self._save_index()

    @property
    def folder(self) -> Path:
        """The folder holding every file this service wrote."""
        return self.files.folder

    def close(self) -> None:
        """Close the database; a temporary folder (``folder=None``) is removed with everything in it."""
        self._closer()

    def __deepcopy__(self, memo) -> FaceService:
        """An independent copy, with its own temporary folder holding a copy of every file."""
        clone = copy.copy(self)
        for name, value in self.__dict__.items():
            if name not in ("files", "_closer"):
                setattr(clone, name, copy.deepcopy(value, memo))
        clone.files = self.files.copy_to(_temporary_folder())
        clone._closer = weakref.finalize(clone, _close_files, clone.files, True)
        return clone

    def __enter__(self) -> FaceService:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _save_index(self) -> None:
        """Write the index as it is in memory (tombstoned vectors included) to ``index.faiss``.

        Saved when the service starts and after every snapshot, delete, remedy, restore and
        rebuild, not after every add (a real service saves its index now and then too)."""
        self.files.write_index(self.index)

    # ------------------------------------------------------------------ building blocks

    def _fit_index(self, vectors: np.ndarray, people: np.ndarray | None) -> None:
        distinct = len(np.unique(vectors, axis=0))  # k-means cannot make more cells than distinct points
        self.index = IVFIndex(seed=self.seed).fit(vectors, min(self.n_lists, distinct))
        self.centroid_people: frozenset[int] = frozenset() if people is None else frozenset(int(p) for p in people)
        self.cache.clear()  # new cells: a search that probed only some lists could now find other photos

    @property
    def dim(self) -> int:
        """Length of the vectors this service stores (that of the index's training vectors)."""
        return int(self.index.centroids.shape[1])

    def _vector(self, values: ArrayLike, what: str) -> np.ndarray:
        """``values`` as one finite float32 vector of length :attr:`dim`, or a ValueError saying what is wrong."""
        array = np.asarray(values)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{what} must be an array of real numbers, got dtype {array.dtype}")
        if array.ndim == 2 and array.shape[0] == 1:
            array = array[0]  # one vector written as a row
        if array.ndim != 1:
            raise ValueError(f"{what} must be one vector of {self.dim} numbers, got an array of shape {array.shape}"
                             + (": pass one face at a time" if array.ndim == 2 else ""))
        if len(array) != self.dim:
            raise ValueError(f"{what} has {len(array)} numbers; this service's vectors have {self.dim}")
        wide = array.astype(np.float64)
        if not np.isfinite(wide).all():
            raise ValueError(f"{what} contains NaN or infinity: no distance to it can be measured, "
                             "so it could never be found")
        if np.abs(wide).max(initial=0) > np.finfo(np.float32).max:
            raise ValueError(f"{what} holds a number too large for float32, the type the index stores")
        return wide.astype(np.float32)

    def _log(self, operation: str, photo_ids=(), person: int | None = None) -> None:
        self.access_log.append(LogEntry(self.step, operation, [int(i) for i in photo_ids], person))
        self.files.log(self.step, operation, photo_ids, person)

    def _tick(self) -> None:
        self.step += 1

    # ------------------------------------------------------------------ the service

    def add(self, person: int, embedding: ArrayLike, image: ArrayLike | None = None) -> int:
        """Enrol one photo of ``person``; returns its photo id.

        Everything is checked before anything is stored, so a refused photo leaves no
        trace: ValueError for a person on the deletion ledger (they asked to be
        deleted), for an embedding that is not one finite vector of :attr:`dim` numbers,
        and for an image that is not a 2-D or 3-D array. An added photo can change any
        search's answer, so the search cache is emptied."""
        person = _person_number(person)
        if person in self.ledger:
            raise ValueError(f"person {person} asked to be deleted: the ledger blocks adding them again")
        vector = self._vector(embedding, "the embedding")
        image = np.zeros((4, 4, 3), np.uint8) if image is None else np.asarray(image)
        if image.ndim not in (2, 3) or 0 in image.shape:
            raise ValueError(f"the image must be a non-empty (height, width) or (height, width, channels) array, "
                             f"got shape {image.shape}")
        self._tick()
        photo_id = self._next_id
        self._next_id += 1
        thumbnail = image[:: self.thumbnail_step, :: self.thumbnail_step].copy()
        self.files.add_photo(photo_id, person, image, thumbnail, vector)
        self.index.add(vector[None, :], [photo_id])
        self.photos[photo_id] = Photo(person, image)
        self.thumbnails[photo_id] = thumbnail
        self.embeddings[photo_id] = vector
        self.cache.clear()
        self._log("add", [photo_id], person)
        return photo_id

    def search(self, query: ArrayLike, k: int = 1, n_probe: int | None = None) -> list[tuple[int, int, float]]:
        """The ``k`` nearest enrolled photos as (photo id, person, distance); answered from the cache if seen.

        ``k`` is a whole number >= 1 (fewer results when fewer photos are enrolled);
        ``n_probe`` is how many index lists to scan, a whole number >= 1 (None, or more
        than ``index.n_lists``: all of them, an exact search; as in faiss, which scans at
        most every list, and a re-learned index may have fewer lists). The cache is keyed by the exact query, ``k`` and ``n_probe``, and
        emptied whenever a photo is added or the index is re-learned, so a cached answer
        is always the one a fresh search would give. A result whose photo is missing from
        the photo store (only possible after a delete that skipped the index) has person None."""
        query = self._vector(query, "the query")
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k (how many nearest photos to return) must be a whole number >= 1, got {k!r}")
        if n_probe is not None and (isinstance(n_probe, (bool, np.bool_)) or not isinstance(n_probe, numbers.Integral)
                                    or n_probe < 1):
            raise ValueError(f"n_probe (index lists to scan) must be a whole number >= 1, or None for all, "
                             f"got {n_probe!r}")
        n_probe = self.index.n_lists if n_probe is None else min(int(n_probe), self.index.n_lists)
        self._tick()
        key = (query.tobytes(), int(k), n_probe)
        if key not in self.cache:
            searchable = self.index.n_searchable
            distances, ids = (self.index.search(query[None, :], min(int(k), searchable), n_probe) if searchable
                              else (np.empty((1, 0)), np.empty((1, 0), np.int64)))
            # A photo the index returns but the photo store lost (a broken delete) has person None.
            results = [(int(i), self.photos[int(i)].person if int(i) in self.photos else None, float(d))
                       for d, i in zip(distances[0], ids[0]) if i >= 0]
            self.cache[key] = CachedSearch(query, results)
        results = self.cache[key].results
        self._log("search", [photo_id for photo_id, _, _ in results])
        return list(results)

    def train_classifier(self, C: float = 10.0) -> None:
        """Train "who is this?" on every enrolled embedding (needs at least two people)."""
        from .unlearning import fit_classifier

        self._tick()
        ids = sorted(self.embeddings)
        people = np.array([self.photos[i].person for i in ids])
        if len(np.unique(people)) < 2:
            self.classifier, self.classifier_people = None, frozenset()
            return
        vectors = np.stack([self.embeddings[i] for i in ids])
        self.classifier = fit_classifier(vectors, people, C=C, seed=self.seed)
        self.classifier_people = frozenset(int(p) for p in people)

    def recognise(self, embedding: ArrayLike) -> tuple[int, float]:
        """The classifier's answer for one face: (person, probability)."""
        if self.classifier is None:
            raise RuntimeError("no classifier: call train_classifier() first")
        vector = self._vector(embedding, "the embedding").astype(np.float64)
        proba = self.classifier.predict_proba(vector[None, :])[0]
        best = int(np.argmax(proba))
        return int(self.classifier.classes_[best]), float(proba[best])

    def snapshot(self) -> int:
        """Take a nightly backup of photos, thumbnails, embeddings and index; returns its number.

        The index is saved compacted (tombstoned vectors are left out). Only the newest
        ``max_backups`` are kept."""
        self._tick()
        index = copy.deepcopy(self.index)
        index.compact()  # write live vectors only, or every tombstone would be copied into every new backup
        self.backups.append(Backup(self.step, dict(self.photos), dict(self.thumbnails), dict(self.embeddings), index,
                                   self.centroid_people))
        self.files.write_backup(self.step, index, self.photos, self.thumbnails)
        self._save_index()
        for expired in self.backups[: -self.max_backups]:
            self.files.expire_backup(expired.step)
        del self.backups[: -self.max_backups]
        self._log("snapshot")
        return len(self.backups) - 1

    def restore(self, backup: int = -1, *, replay_deletions: bool = True) -> None:
        """Restore photos, thumbnails, embeddings and index from a backup; the cache starts empty.

        ``backup`` is a position in :attr:`backups` (-1: the newest). With
        ``replay_deletions`` (the default) every deletion on the ledger is applied again
        to the restored data and the restored index is compacted; if the backup's index
        centres were learned from a deleted person, they are re-learned from the restored
        embeddings, or, if none were restored, the centres in use before the restore are
        kept (learned without that person, or already reported as needing retraining).
        So a replayed restore brings no deleted person back into any store. Without it,
        people deleted after the backup was taken come back.

        Raises RuntimeError if no backup was ever taken, IndexError for a backup number
        that does not exist.
        """
        if not self.backups:
            raise RuntimeError("no backup to restore: take one with snapshot() first")
        if isinstance(backup, (bool, np.bool_)) or not isinstance(backup, numbers.Integral) \
                or not -len(self.backups) <= backup < len(self.backups):
            raise IndexError(f"no backup number {backup!r}: there are {len(self.backups)}, numbered 0 to "
                             f"{len(self.backups) - 1} (or -1 for the newest)")
        self._tick()
        saved = self.backups[backup]
        centres_before = (self.index, self.centroid_people)
        self.photos, self.thumbnails, self.embeddings = dict(saved.photos), dict(saved.thumbnails), dict(saved.embeddings)
        self.index = copy.deepcopy(saved.index)
        self.centroid_people = saved.centroid_people
        self.cache = {}
        self.files.replace_all(self.photos, self.thumbnails, self.embeddings)
        self._log("restore")
        if replay_deletions:
            for person, entry in self.ledger.items():
                # Centres are dealt with once, below; the live classifier is not part of a backup.
                self._erase(person, entry["photo_ids"], **{**entry["options"], "compact_index": True, "retrain": False})
            if self.centroid_people & self.ledger.keys():
                if self.embeddings:
                    self.rebuild_index()
                else:
                    self._keep_centres_of(*centres_before)
        self._save_index()

    def _keep_centres_of(self, index: IVFIndex, centroid_people: frozenset[int]) -> None:
        """Use ``index``'s centres, with none of its vectors, for a service whose stores hold no embeddings."""
        emptied = copy.deepcopy(index)
        searchable = np.setdiff1d(emptied.stored_ids(), emptied.tombstoned_ids())
        if len(searchable):
            emptied.remove(searchable)
        emptied.compact()
        self.index, self.centroid_people = emptied, centroid_people

    # ------------------------------------------------------------------ deletion

    def photo_ids_of(self, person: int) -> list[int]:
        """Every photo id the person ever had here: enrolled now, in a backup, in the log, or on the ledger."""
        ids = {i for i, photo in self.photos.items() if photo.person == person}
        for backup in self.backups:
            ids |= {i for i, photo in backup.photos.items() if photo.person == person}
        ids |= {i for entry in self.access_log if entry.operation == "add" and entry.person == person
                for i in entry.photo_ids}  # a restore can drop photos that the log still names
        ids |= set(self.ledger.get(person, {}).get("photo_ids", ()))
        return sorted(ids)

    def find(self, person: int) -> dict[str, int]:
        """Scan every store for the person: store -> how many items of theirs it holds.

        Photos, thumbnails, embeddings: their photo ids; index: their vectors physically
        stored (tombstoned ones included); cache: cached searches whose results name
        them; access_log: entries naming their photo ids; backups: backups holding any
        of their photos; classifier and index_centroids: 1 if trained on their data.
        """
        ids = set(self.photo_ids_of(person))
        return {
            "photos": len(ids & self.photos.keys()),
            "thumbnails": len(ids & self.thumbnails.keys()),
            "embeddings": len(ids & self.embeddings.keys()),
            "index": int(np.isin(self.index.stored_ids(), list(ids)).sum()) if ids else 0,
            "cache": sum(any(i in ids for i, _, _ in entry.results) for entry in self.cache.values()),
            "access_log": sum(any(i in ids for i in entry.photo_ids) for entry in self.access_log),
            "backups": sum(bool(ids & b.photos.keys()) or bool(np.isin(b.index.stored_ids(), list(ids)).any())
                           for b in self.backups) if ids else 0,
            "classifier": int(person in self.classifier_people),
            "index_centroids": int(person in self.centroid_people),
        }

    def _erase(self, person: int, photo_ids, *, compact_index: bool, scrub_logs: bool, purge_backups: bool,
               retrain: bool) -> None:
        ids = set(photo_ids)
        _drop_photos(ids, (self.photos, self.thumbnails, self.embeddings), self.index)
        self.files.delete_photos(sorted(ids))
        if compact_index:
            self.index.compact()
        self.cache = {key: entry for key, entry in self.cache.items()
                      if not any(i in ids for i, _, _ in entry.results)}
        if scrub_logs:
            for entry in self.access_log:
                entry.photo_ids = [i for i in entry.photo_ids if i not in ids]
                if entry.operation == "add" and entry.person == person:
                    entry.person = None
            self.files.rewrite_log(self.access_log)
        if purge_backups:
            for backup in self.backups:
                _drop_photos(ids, (backup.photos, backup.thumbnails, backup.embeddings), backup.index)
                backup.index.compact()
                self.files.rewrite_backup(backup.step, backup.index, backup.photos, backup.thumbnails, backup.embeddings)
        if retrain:
            if person in self.classifier_people:
                self.train_classifier()
            if person in self.centroid_people:
                self.rebuild_index()

    def rebuild_index(self) -> None:
        """Re-learn the index centres from the enrolled embeddings and re-add them all (no tombstones left)."""
        ids = sorted(self.embeddings)
        if not ids:
            return  # nothing to learn centres from: the old index (and its audit status) stays
        vectors = np.stack([self.embeddings[i] for i in ids])
        self._fit_index(vectors, np.array([self.photos[i].person for i in ids]))
        self.index.add(vectors, ids)
        self._save_index()

    def delete(self, person: int, *, compact_index: bool = False, scrub_logs: bool = False,
               purge_backups: bool = False, retrain: bool = False) -> DeletionAudit:
        """Delete a person and return the audit of what is left, store by store.

        Always: removes their photos, thumbnails and embeddings, removes their vectors
        from the index (a lazy remove: tombstones), drops cached searches that name
        them, and puts them on the deletion ledger. The options do the expensive part:
        ``compact_index`` rewrites the index lists; ``scrub_logs`` erases their photo ids
        from the access log; ``purge_backups`` rewrites every backup without them;
        ``retrain`` retrains the classifier and the index centres if they learned from them.

        The DELETE is committed to the database and the index file is rewritten from the
        index in memory; then the audit scans the raw bytes of every file in :attr:`folder`
        for the person's templates (see :class:`DeletionAudit`). :meth:`remedy` applies what
        it names.
        """
        person = _person_number(person)
        self._tick()
        options = dict(compact_index=compact_index, scrub_logs=scrub_logs, purge_backups=purge_backups,
                       retrain=retrain)
        photo_ids = self.photo_ids_of(person)
        templates = self._templates_of(photo_ids)
        before = self.find(person)
        self.ledger[person] = {"photo_ids": photo_ids, "options": options}
        self._erase(person, photo_ids, **options)
        self._log("delete", person=person)
        self._save_index()
        return self._audit(person, before, self.find(person), templates)

    def remedy(self, audit: DeletionAudit) -> DeletionAudit:
        """Apply every remedy the audit names, then audit again (same person, same templates).

        Compacts the index and rewrites ``index.faiss``; re-makes every backup without the
        person; erases their photo ids from the log; retrains the models that learned from
        them; runs VACUUM (the database file is rebuilt from its live rows, so freed pages
        and free space inside pages, which may hold deleted bytes, are gone) and, in WAL mode,
        ``wal_checkpoint(TRUNCATE)`` (the WAL, which holds every page written since the last
        checkpoint, is copied into the database and cut to 0 bytes)."""
        person = audit.person
        self._tick()
        before = self.find(person)
        options = dict(compact_index=True, scrub_logs=True, purge_backups=True, retrain=True)
        self._erase(person, self.photo_ids_of(person), **options)
        self.ledger.setdefault(person, {"photo_ids": self.photo_ids_of(person), "options": options})
        self.ledger[person]["options"] = options
        self.files.vacuum()
        if self.files.journal_mode == "WAL":
            self.files.checkpoint()
        self._save_index()
        return self._audit(person, before, self.find(person), audit.templates)

    def _templates_of(self, photo_ids) -> np.ndarray:
        """Every distinct template of these photos the service holds in memory: live, in the index, in backups."""
        ids = set(photo_ids)
        found = [self.embeddings[i] for i in ids & self.embeddings.keys()]
        found += [self.index.stored_vector(i) for i in np.intersect1d(self.index.stored_ids(), sorted(ids))]
        for backup in self.backups:
            found += [backup.embeddings[i] for i in ids & backup.embeddings.keys()]
        return np.unique(np.array(found, np.float32).reshape(-1, self.dim), axis=0)

    def scan_files(self, templates: ArrayLike) -> dict[str, int]:
        """Every file in :attr:`folder` whose raw bytes hold one of ``templates`` -> how many (see course.forensics)."""
        return scan_files(self.files.files(), templates, root=self.folder)

    def _audit(self, person: int, before: dict[str, int], after: dict[str, int],
               templates: np.ndarray) -> DeletionAudit:
        tombstoned = int(np.isin(self.index.tombstoned_ids(), self.photo_ids_of(person)).sum())
        why_left = {
            "photos": "photo store still holds them",
            "thumbnails": "derived copies were not removed",
            "embeddings": "templates still in the embedding table",
            "index": f"{tombstoned} vector(s) tombstoned: search skips them, but they stay in the "
                     "index's memory until the lists are compacted",
            "cache": "cached results still name them",
            "access_log": "append-only log, kept for security audits, still names their photo ids",
            "backups": "backups are kept until they expire; restoring one without the ledger brings them back",
            "classifier": "the model's weights were fitted to their photos: only retraining without them removes that",
            "index_centroids": "the k-means centres were averaged over their vectors: only re-training the index removes that",
        }
        why_removed = {
            "index": "vectors removed and lists compacted",
            "access_log": "their photo ids were erased; the log keeps its 'delete' entry with their number, "
                          "as the record that the erasure was done",
            "backups": "every backup was rewritten without them",
            "classifier": "retrained without them",
            "index_centroids": "index re-trained without them",
        }
        rows = []
        for store in STORES:
            if after[store]:
                status = NEEDS_RETRAINING if store in MODELS else STILL_PRESENT
                rows.append(StoreAudit(store, status, after[store], why_left[store]))
            elif before[store]:
                rows.append(StoreAudit(store, REMOVED, 0, why_removed.get(store, "deleted")))
            else:
                rows.append(StoreAudit(store, NOT_PRESENT, 0, "held nothing of theirs"))
        files = [FileAudit(path, n, self._file_remedy(path)) for path, n in self.scan_files(templates).items()]
        return DeletionAudit(person, rows, files, templates)

    def _file_remedy(self, path: str) -> str:
        """What would take a person's template bytes out of this file (``path`` relative to the folder)."""
        name = Path(path).name
        if Path(path).parts[0] == "backups":
            return (f"re-make the backup without them (purge_backups=True), or let it expire after "
                    f"{self.max_backups} newer snapshots")
        if name == INDEX_FILE:
            return "compact the index and rewrite the index file"
        if name == f"{DATABASE}-wal":
            return "VACUUM, then PRAGMA wal_checkpoint(TRUNCATE) (the WAL keeps every page written since the last checkpoint)"
        if name.startswith(DATABASE):
            return ("VACUUM (deleted rows stay in freed space; secure_delete=ON before the DELETE would "
                    "have zeroed them)")
        return "delete or rewrite the file"


#: Memory-backed folder for temporary service folders, used where it exists with room to spare.
_MEMORY_FOLDER = Path("/dev/shm")


def _temporary_folder() -> str:
    """A new, empty folder for a service's files.

    In the memory-backed /dev/shm where the system has one with at least 512 MB free, else in
    the system's temporary folder. A file there holds its bytes like any other file, and
    enrolling costs no disk I/O (measured on a busy 2-core machine: 300 photos in 3.7 s there,
    17 s on its disk)."""
    try:
        stats = os.statvfs(_MEMORY_FOLDER)
        roomy = stats.f_bavail * stats.f_frsize >= 512 * 2**20 and os.access(_MEMORY_FOLDER, os.W_OK)
    except OSError:
        roomy = False
    base = Path(_MEMORY_FOLDER if roomy else tempfile.gettempdir())
    _remove_folders_of_ended_processes(base)
    return tempfile.mkdtemp(prefix=f"faces-service-{os.getpid()}-", dir=base)


def _remove_folders_of_ended_processes(base: Path) -> None:
    """Remove temporary service folders whose process has ended without removing them.

    A kernel that is killed (as notebook runners stop kernels) never runs its clean-up, so its
    folders stay behind, in memory when they are in /dev/shm. Each folder's name carries the
    number of the process that made it; a folder is removed only when no process with that
    number exists."""
    for folder in base.glob("faces-service-*-*"):
        pid = folder.name.split("-")[2]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # it exists, under another user


def _close_files(files: ServiceFiles, remove_folder: bool) -> None:
    """Close a service's database and, for a temporary folder, remove it."""
    files.close()
    if remove_folder:
        shutil.rmtree(files.folder, ignore_errors=True)


def _person_number(person) -> int:
    """``person`` as an int, or a TypeError: a person number must be a whole number (not 1.5, not True)."""
    if isinstance(person, (bool, np.bool_)) or not isinstance(person, numbers.Integral):
        raise TypeError(f"person must be a whole number (a person number), got {person!r}")
    return int(person)


# --------------------------------------------------------------------------- faiss


def _drop_photos(ids: set[int], stores, index: IVFIndex) -> None:
    """Delete photo ``ids`` from photo-keyed stores, and tombstone those the index still returns.

    Used for the live service and, when backups are purged, for each backup alike.
    """
    for store in stores:
        for i in ids & store.keys():
            del store[i]
    searchable = np.setdiff1d(index.stored_ids(), index.tombstoned_ids())
    alive = np.intersect1d(searchable, list(ids)) if ids else np.empty(0, np.int64)
    if len(alive):
        index.remove(alive)


@dataclass
class FaissRemoval:
    """What faiss's ``IndexIVFFlat.remove_ids`` did (see :func:`faiss_ivf_removal`)."""

    asked: int  # ids passed to remove_ids
    removed: int  # what remove_ids returned (ids it actually found)
    ntotal_before: int
    ntotal_after: int
    found_before: int  # removed ids returned by an exhaustive search before removal
    found_after: int  # ... and after
    bytes_before: int  # size of the serialised index
    bytes_after: int
    found_after_restore: int  # removed ids found again in a copy serialised before removal
    centroids_unchanged: bool  # the coarse quantiser still holds centres trained with the removed vectors
    stale_copies_in_memory: int  # removed vectors whose bytes still sit in the lists' spare capacity
    hnsw_error: str = field(default="")  # what IndexHNSWFlat.remove_ids says


def faiss_ivf_removal(vectors: ArrayLike, ids: ArrayLike, remove: ArrayLike, *, n_lists: int = 4) -> FaissRemoval:
    """Build a faiss ``IndexIVFFlat`` on ``vectors``, ``remove_ids(remove)``, and measure what is left.

    Findings (faiss 1.x): unlike the course's lazy IVF, ``remove_ids`` on an IVF index
    really takes the entries out of the inverted lists (``ntotal`` drops, searches and
    serialised copies no longer contain them); ids it does not hold are skipped
    silently (compare ``asked`` and ``removed``). What it cannot touch: the coarse
    quantiser's centres, trained on data that included the removed vectors; any copy
    written before (a backup), which brings them back; and, for a removed vector that
    sat at the end of its list, its bytes left in the list's unused capacity (memory
    not returned or zeroed: unreachable through faiss's API, gone when it is reused or
    the process ends). faiss's ``IndexHNSWFlat`` does not implement ``remove_ids``: in
    faiss, removing from an HNSW graph means rebuilding it (other HNSW libraries, such
    as hnswlib's ``mark_deleted``, delete lazily with tombstones instead).
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    remove = np.asarray(remove, dtype=np.int64)
    dim = vectors.shape[1]
    quantiser = faiss.IndexFlatL2(dim)
    index = faiss.IndexIVFFlat(quantiser, dim, n_lists)
    index.train(vectors)
    index.add_with_ids(vectors, ids)
    index.nprobe = n_lists  # exhaustive: any miss is the removal, not the approximation
    centroids = quantiser.reconstruct_n(0, n_lists).copy()
    targets = vectors[np.isin(ids, remove)]

    def hits(idx) -> int:
        if len(targets) == 0:
            return 0
        _, found = idx.search(targets, 1)
        return int(np.isin(found[:, 0], remove).sum())

    invlists = faiss.downcast_InvertedLists(index.invlists)
    old_sizes = [invlists.list_size(k) for k in range(n_lists)]
    backup = faiss.serialize_index(index)
    found_before, ntotal_before = hits(index), index.ntotal
    removed = int(index.remove_ids(remove))
    stale = 0
    for k, old_size in enumerate(old_sizes):
        if old_size == 0:
            continue
        # The list keeps its old allocation; read the first old_size entries' bytes.
        raw = faiss.rev_swig_ptr(invlists.get_codes(k), old_size * index.code_size).copy()
        rows = raw.view(np.float32).reshape(old_size, dim)[invlists.list_size(k):]
        stale += sum(bool((rows == t).all(axis=1).any()) for t in targets)
    restored = faiss.deserialize_index(backup)
    restored.nprobe = n_lists
    hnsw = faiss.IndexHNSWFlat(dim, 8)
    hnsw.add(vectors[: min(len(vectors), 16)])
    try:
        hnsw.remove_ids(remove[:1])
        hnsw_error = ""
    except RuntimeError as err:
        hnsw_error = str(err).split(": ", 1)[-1].strip()
    return FaissRemoval(
        asked=len(remove), removed=removed, ntotal_before=int(ntotal_before), ntotal_after=int(index.ntotal),
        found_before=found_before, found_after=hits(index),
        bytes_before=int(len(backup)), bytes_after=int(len(faiss.serialize_index(index))),
        found_after_restore=hits(restored),
        centroids_unchanged=bool(np.array_equal(centroids, quantiser.reconstruct_n(0, n_lists))),
        stale_copies_in_memory=int(stale), hnsw_error=hnsw_error,
    )
