"""Byte-level forensics: after a committed DELETE, which files still hold a person's template bytes?

A template is stored as raw bytes (128 float32 numbers = 512 bytes in a database BLOB or
an index file). :func:`scan_files` reads every file a service wrote and counts, per file,
how many of the given templates appear there byte for byte, as float32 or as float64.
Byte for byte means the whole vector: a template partly overwritten is not counted.

:func:`delete_experiment` measures what one SQLite setting leaves behind: it stores
templates in a fresh database, deletes some of them in one committed transaction and
scans the files, with every setting that decides the outcome set explicitly
(:func:`course.storage.pragmas`), so its result is the same whatever the local SQLite
build's defaults are.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .storage import DATABASE, Transaction, open_database

#: The settings :func:`delete_experiment` compares, in the order a lesson shows them.
MODES = ("secure_delete=OFF", "secure_delete=ON", "WAL, before a checkpoint", "WAL, after a checkpoint only",
         "WAL, after VACUUM + checkpoint")


def template_patterns(vectors: ArrayLike) -> list[tuple[bytes, bytes]]:
    """Each template's bytes as float32 and as float64 (the two ways a program may have stored it)."""
    vectors = np.atleast_2d(np.asarray(vectors))
    return [(v.astype(np.float32).tobytes(), v.astype(np.float64).tobytes()) for v in vectors]


def templates_in(data: bytes, patterns: list[tuple[bytes, bytes]]) -> int:
    """How many of the templates appear in ``data`` (as float32 or float64), whole."""
    return sum(single in data or double in data for single, double in patterns)


def scan_files(paths, vectors: ArrayLike, root: Path | None = None) -> dict[str, int]:
    """File -> how many of ``vectors`` its raw bytes hold; only files that hold at least one.

    Names are relative to ``root`` when given. Files that vanished while scanning are skipped."""
    patterns = template_patterns(vectors)
    found = {}
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            continue
        hits = templates_in(data, patterns)
        if hits:
            found[str(Path(path).relative_to(root)) if root else str(path)] = hits
    return found


@dataclass(frozen=True)
class DeleteExperiment:
    """What one SQLite setting left after a committed DELETE (see :func:`delete_experiment`)."""

    mode: str
    deleted: int  # templates deleted (and committed)
    found: dict[str, int]  # file name -> deleted templates still there byte for byte
    kept_found: int  # templates NOT deleted that the database files still hold (should be all of them)
    kept: int

    def row(self) -> str:
        """One line of the comparison table."""
        where = ", ".join(f"{name}: {n}/{self.deleted}" for name, n in self.found.items()) or "none"
        return f"{self.mode:<32} {where}"


def delete_experiment(mode: str, *, n_templates: int = 40, n_deleted: int = 10, dim: int = 128,
                      seed: int = 0) -> DeleteExperiment:
    """Store ``n_templates`` random float32 templates, DELETE ``n_deleted`` of them, commit, and scan the files.

    ``mode`` is one of :data:`MODES`. The templates are inserted one transaction each (as a
    service enrols photos one at a time); the deleted ones are every 4th, in one transaction.
    The database lives in a temporary folder, removed afterwards; the files are scanned while
    the connection is still open (closing a WAL database checkpoints it)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0 < n_deleted <= n_templates // 2:
        raise ValueError("n_deleted must be between 1 and half of n_templates")
    vectors = np.random.default_rng(seed).standard_normal((n_templates, dim)).astype(np.float32)
    doomed = np.arange(0, n_templates, n_templates // n_deleted)[:n_deleted]
    kept = np.setdiff1d(np.arange(n_templates), doomed)
    wal = mode.startswith("WAL")
    with tempfile.TemporaryDirectory(prefix="faces-forensics-") as folder:
        db = open_database(Path(folder) / DATABASE, secure_delete=mode == "secure_delete=ON",
                           journal_mode="WAL" if wal else "DELETE")
        try:
            for i, vector in enumerate(vectors):
                with Transaction(db):
                    db.execute("INSERT INTO photos VALUES (?, ?, ?, ?)", (i, i, 1, 1))
                    db.execute("INSERT INTO templates VALUES (?, ?)", (i, vector.tobytes()))
            with Transaction(db):
                db.executemany("DELETE FROM templates WHERE photo_id = ?", [(int(i),) for i in doomed])
                db.executemany("DELETE FROM photos WHERE photo_id = ?", [(int(i),) for i in doomed])
            if mode == "WAL, after VACUUM + checkpoint":
                db.execute("VACUUM")
            if mode in ("WAL, after a checkpoint only", "WAL, after VACUUM + checkpoint"):
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # alone, it copies the WAL's pages (deleted bytes too) into service.db
            files = sorted(Path(folder).iterdir())
            found = scan_files(files, vectors[doomed], root=Path(folder))
            kept_found = templates_in(b"".join(p.read_bytes() for p in files), template_patterns(vectors[kept]))
        finally:
            db.close()
    return DeleteExperiment(mode, len(doomed), found, kept_found, len(kept))
