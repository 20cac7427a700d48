"""The files a face service writes: an SQLite database, photo and thumbnail files, an index file, backups.

:class:`ServiceFiles` is the on-disk half of :class:`course.service.FaceService`. Everything
lives in one folder per service::

    service.db            SQLite: photo metadata, templates (float32 BLOBs), the access log
    service.db-journal    SQLite's rollback journal (during a write) or service.db-wal (WAL mode)
    photos/<id>.npy       the photos
    thumbnails/<id>.npy   the small copies shown on result pages
    index.faiss           the search index, written with faiss.write_index
    backups/<n>/          one folder per backup: service.db (SQLite's online backup API),
                          index.faiss, photos/, thumbnails/

Every setting that decides what a DELETE leaves in the files is set explicitly when the
database is opened (:data:`PRAGMAS`), so the same code leaves the same bytes on every
machine, whatever defaults the local SQLite was compiled with: ``secure_delete``
(overwrite deleted content with zeros, or just mark it free), ``journal_mode``
(rollback journal or write-ahead log), ``page_size``, ``cache_size``,
``wal_autocheckpoint``, ``synchronous`` and ``auto_vacuum``.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np

#: Database name inside a service's folder (backups use the same name inside their own folder).
DATABASE = "service.db"
#: Index file name inside a service's folder (and inside each backup's folder).
INDEX_FILE = "index.faiss"
JOURNAL_MODES = ("DELETE", "WAL")

SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (photo_id INTEGER PRIMARY KEY, person INTEGER NOT NULL,
                                   height INTEGER NOT NULL, width INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS templates (photo_id INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS access_log (entry INTEGER PRIMARY KEY, step INTEGER NOT NULL, operation TEXT NOT NULL,
                                       photo_ids TEXT NOT NULL, person INTEGER);
"""


def pragmas(secure_delete: bool, journal_mode: str) -> dict[str, object]:
    """Every SQLite setting that changes which deleted bytes stay in the files, with the value used here.

    ``page_size`` 4096 and ``cache_size`` 2000 pages are sqlite.org's defaults, written out
    so a build with other defaults gives the same files; ``wal_autocheckpoint`` 1000 pages is
    too, and no lesson writes that much, so a WAL file keeps everything until an explicit
    checkpoint; ``auto_vacuum`` NONE keeps freed pages in the file until VACUUM."""
    if journal_mode not in JOURNAL_MODES:
        raise ValueError(f"journal_mode must be one of {JOURNAL_MODES}, got {journal_mode!r}")
    return {"page_size": 4096, "auto_vacuum": "NONE", "cache_size": 2000, "secure_delete": int(bool(secure_delete)),
            "journal_mode": journal_mode, "wal_autocheckpoint": 1000, "synchronous": "OFF"}


def open_database(path: Path, secure_delete: bool, journal_mode: str) -> sqlite3.Connection:
    """Open (or create) an SQLite database with every setting of :func:`pragmas` set explicitly."""
    connection = sqlite3.connect(path, isolation_level=None)  # autocommit: every statement we run commits
    for name, value in pragmas(secure_delete, journal_mode).items():
        connection.execute(f"PRAGMA {name}={value}")
    connection.executescript(SCHEMA)
    return connection


def build_default_secure_delete() -> int:
    """``PRAGMA secure_delete`` of a fresh database, read before anything sets it: this SQLite build's default.

    sqlite.org's default is 0 (deleted content is left in place, marked free); a build
    compiled with SQLITE_SECURE_DELETE (as some Linux distributions' are) says 1."""
    connection = sqlite3.connect(":memory:")
    try:
        return int(connection.execute("PRAGMA secure_delete").fetchone()[0])
    finally:
        connection.close()


class ServiceFiles:
    """One service's folder on disk; :class:`course.service.FaceService` writes every change through it.

    Args:
        folder: the service's folder (created if missing; must not already hold a database).
        secure_delete: SQLite's ``secure_delete`` (True: freed content is overwritten with zeros).
        journal_mode: ``"DELETE"`` (rollback journal, removed after each commit) or ``"WAL"``
            (write-ahead log: changes go to ``service.db-wal`` until a checkpoint).
    """

    def __init__(self, folder: str | Path, *, secure_delete: bool = False, journal_mode: str = "DELETE") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if (self.folder / DATABASE).exists():
            raise FileExistsError(f"{self.folder / DATABASE} already exists: a new service needs an empty folder")
        self.secure_delete, self.journal_mode = bool(secure_delete), journal_mode
        self.db = open_database(self.folder / DATABASE, self.secure_delete, journal_mode)
        for sub in ("photos", "thumbnails", "backups"):
            (self.folder / sub).mkdir(exist_ok=True)

    # ------------------------------------------------------------------ writing

    def add_photo(self, photo_id: int, person: int, image: np.ndarray, thumbnail: np.ndarray,
                  vector: np.ndarray) -> None:
        """Store one photo: metadata and template in one transaction, the photo and thumbnail as files."""
        np.save(self.folder / "photos" / f"{photo_id}.npy", image)
        np.save(self.folder / "thumbnails" / f"{photo_id}.npy", thumbnail)
        with Transaction(self.db):
            self.db.execute("INSERT INTO photos VALUES (?, ?, ?, ?)", (photo_id, person, *image.shape[:2]))
            self.db.execute("INSERT INTO templates VALUES (?, ?)", (photo_id, np.asarray(vector, np.float32).tobytes()))

    def delete_photos(self, photo_ids) -> None:
        """DELETE the photos' rows (one committed transaction) and unlink their photo and thumbnail files."""
        ids = [(int(i),) for i in photo_ids]
        with Transaction(self.db):
            self.db.executemany("DELETE FROM templates WHERE photo_id = ?", ids)
            self.db.executemany("DELETE FROM photos WHERE photo_id = ?", ids)
        for (i,) in ids:
            for sub in ("photos", "thumbnails"):
                (self.folder / sub / f"{i}.npy").unlink(missing_ok=True)

    def replace_all(self, photos: dict, thumbnails: dict, embeddings: dict) -> None:
        """Make the database and the files hold exactly these photos (after a restore)."""
        with Transaction(self.db):
            self.db.execute("DELETE FROM templates")
            self.db.execute("DELETE FROM photos")
            self.db.executemany("INSERT INTO photos VALUES (?, ?, ?, ?)",
                                [(i, p.person, *p.image.shape[:2]) for i, p in photos.items()])
            self.db.executemany("INSERT INTO templates VALUES (?, ?)",
                                [(i, np.asarray(v, np.float32).tobytes()) for i, v in embeddings.items()])
        for sub, store in (("photos", {i: p.image for i, p in photos.items()}), ("thumbnails", thumbnails)):
            for path in (self.folder / sub).glob("*.npy"):
                if int(path.stem) not in store:
                    path.unlink()
            for i, array in store.items():
                np.save(self.folder / sub / f"{i}.npy", array)

    def log(self, step: int, operation: str, photo_ids, person: int | None) -> None:
        """Append one access-log row."""
        self.db.execute("INSERT INTO access_log (step, operation, photo_ids, person) VALUES (?, ?, ?, ?)",
                        (step, operation, ",".join(str(int(i)) for i in photo_ids), person))

    def rewrite_log(self, entries) -> None:
        """Replace the access log with these :class:`course.service.LogEntry` rows (after scrubbing)."""
        with Transaction(self.db):
            self.db.execute("DELETE FROM access_log")
            self.db.executemany("INSERT INTO access_log (step, operation, photo_ids, person) VALUES (?, ?, ?, ?)",
                                [(e.step, e.operation, ",".join(map(str, e.photo_ids)), e.person) for e in entries])

    def write_index(self, index, folder: Path | None = None) -> None:
        """Write the course index to ``index.faiss`` (every stored vector, tombstoned ones included)."""
        write_index_file(index, (folder or self.folder) / INDEX_FILE)

    def write_backup(self, number: int, index, photos: dict, thumbnails: dict) -> Path:
        """Write backup ``number``: the database through SQLite's online backup API, the index, photo files.

        The backup API copies the database page by page, free pages included: bytes a DELETE
        left in freed space are copied into the backup too."""
        folder = self._empty_backup_folder(number)
        target = sqlite3.connect(folder / DATABASE)
        try:
            self.db.backup(target)
        finally:
            target.close()
        self._write_backup_files(folder, index, photos, thumbnails)
        return folder

    def rewrite_backup(self, number: int, index, photos: dict, thumbnails: dict, embeddings: dict) -> None:
        """Re-make backup ``number`` from these contents (after purging a person): a new file, not an edit."""
        folder = self._empty_backup_folder(number)
        fresh = sqlite3.connect(folder / DATABASE)
        try:
            fresh.executescript(SCHEMA)
            fresh.executemany("INSERT INTO photos VALUES (?, ?, ?, ?)",
                              [(i, p.person, *p.image.shape[:2]) for i, p in photos.items()])
            fresh.executemany("INSERT INTO templates VALUES (?, ?)",
                              [(i, np.asarray(v, np.float32).tobytes()) for i, v in embeddings.items()])
            fresh.commit()
        finally:
            fresh.close()
        self._write_backup_files(folder, index, photos, thumbnails)

    def _empty_backup_folder(self, number: int) -> Path:
        """Backup ``number``'s folder, emptied (an older copy is removed whole), with photos/ and thumbnails/."""
        folder = self.backup_folder(number)
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "photos").mkdir(parents=True)
        (folder / "thumbnails").mkdir()
        return folder

    def _write_backup_files(self, folder: Path, index, photos: dict, thumbnails: dict) -> None:
        """A backup's index file, photo files and thumbnail files."""
        self.write_index(index, folder)
        for i, photo in photos.items():
            np.save(folder / "photos" / f"{i}.npy", photo.image)
        for i, thumbnail in thumbnails.items():
            np.save(folder / "thumbnails" / f"{i}.npy", thumbnail)

    def backup_folder(self, number: int) -> Path:
        """The folder of backup ``number`` (numbers count every snapshot ever taken)."""
        return self.folder / "backups" / f"{number:04d}"

    def expire_backup(self, number: int) -> None:
        """Delete an expired backup's folder."""
        shutil.rmtree(self.backup_folder(number), ignore_errors=True)

    def copy_to(self, folder: str | Path) -> ServiceFiles:
        """A copy of every file in a new, empty ``folder`` (the database through SQLite's backup API), opened."""
        folder = Path(folder)

        def skip_live_database(directory, names):
            return [n for n in names if n.startswith(DATABASE)] if Path(directory) == self.folder else []

        shutil.copytree(self.folder, folder, ignore=skip_live_database, dirs_exist_ok=True)
        clone = ServiceFiles(folder, secure_delete=self.secure_delete, journal_mode=self.journal_mode)
        self.db.backup(clone.db)
        return clone

    # ------------------------------------------------------------------ remedies

    def vacuum(self) -> None:
        """VACUUM: rebuild the database file from its live rows only, so freed pages and free space go."""
        self.db.execute("VACUUM")

    def checkpoint(self) -> None:
        """``wal_checkpoint(TRUNCATE)``: copy the WAL into the database and truncate the WAL to 0 bytes."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------------------ reading

    def templates(self) -> dict[int, np.ndarray]:
        """The template table as photo id -> float32 vector."""
        return {i: np.frombuffer(blob, np.float32).copy()
                for i, blob in self.db.execute("SELECT photo_id, vector FROM templates ORDER BY photo_id")}

    def files(self) -> list[Path]:
        """Every file the service has written that exists now, sorted."""
        return sorted(p for p in self.folder.rglob("*") if p.is_file())

    def close(self) -> None:
        """Close the database connection (in WAL mode this checkpoints and removes the -wal file)."""
        self.db.close()


class Transaction:
    """``with Transaction(db):`` runs the block as one transaction: committed at the end, rolled back on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, kind, error, traceback) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def write_index_file(index, path: Path) -> None:
    """Write a :class:`course.search.IVFIndex` as a faiss ``IndexIVFFlat`` file with the same centres and lists.

    faiss has no tombstones, so a tombstoned vector is written like any stored one: what the
    index holds in memory is what reaches the disk."""
    import faiss

    dim = index.centroids.shape[1]
    quantiser = faiss.IndexFlatL2(dim)
    quantiser.add(np.ascontiguousarray(index.centroids, np.float32))
    ivf = faiss.IndexIVFFlat(quantiser, dim, index.n_lists)
    for list_no, inverted in enumerate(index._lists):
        if len(inverted.ids):
            vectors = np.ascontiguousarray(inverted.vectors, np.float32)
            ids = np.ascontiguousarray(inverted.ids, np.int64)
            ivf.invlists.add_entries(list_no, len(ids), faiss.swig_ptr(ids), faiss.swig_ptr(vectors.view(np.uint8)))
    ivf.ntotal = index.n_stored
    faiss.write_index(ivf, str(path))


def read_index_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read an ``index.faiss`` back with faiss: (centres, every stored vector, their ids), list by list."""
    import faiss

    stored = faiss.read_index(str(path))  # keep a reference: the IVF view below does not own it
    ivf = faiss.extract_index_ivf(stored)
    invlists = faiss.downcast_InvertedLists(ivf.invlists)
    vectors, ids = [np.empty((0, ivf.d), np.float32)], [np.empty(0, np.int64)]
    for list_no in range(ivf.nlist):
        size = invlists.list_size(list_no)
        if size:
            codes = faiss.rev_swig_ptr(invlists.get_codes(list_no), size * ivf.code_size).copy()
            vectors.append(codes.view(np.float32).reshape(size, ivf.d))
            ids.append(faiss.rev_swig_ptr(invlists.get_ids(list_no), size).copy())
    return ivf.quantizer.reconstruct_n(0, ivf.nlist), np.vstack(vectors), np.concatenate(ids)
