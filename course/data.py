"""The data registry: every data set the course uses, how it is made or fetched, and checksums.

``data/registry.json`` lists each data set with its licence, its synthetic or
consent statement and the sha256 of every file. Two kinds exist:

* **generated** sets (the default): synthetic people made by :mod:`course.faces`
  with fixed seeds, embedded by :mod:`course.embed`, and committed with the
  repository. ``python -m course data build NAME`` rebuilds one deterministically.
* **download** sets (optional): consented real faces, fetched only when you ask,
  verified against their checksums, stored in the ignored ``data/cache/`` folder.

Nothing in this module touches the network unless :func:`fetch` is called.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import DatasetError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
REGISTRY_PATH = DATA_DIR / "registry.json"
CACHE_DIR = Path(os.environ.get("FACES_AT_SCALE_CACHE", DATA_DIR / "cache"))
#: Side, in pixels, of the stored thumbnails and aligned chips of generated sets.
THUMB = 64


def registry() -> dict:
    """The registry as a dict: data set name -> its entry (see data/registry.json)."""
    return json.loads(REGISTRY_PATH.read_text())


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(name: str) -> list[str]:
    """Check a generated set's files against the registry; return the problems found ([] if none)."""
    entry = _entry(name, kind="generated")
    folder = DATA_DIR / name
    if not entry["files"]:
        return [f"{name} has not been built yet"]
    from .faces import GENERATOR_VERSION

    problems = []
    if entry.get("generator_version") != GENERATOR_VERSION:
        problems.append(f"{name} was made by generator {entry.get('generator_version')}, "
                        f"but course.faces is now {GENERATOR_VERSION}")
    for filename, expected in entry["files"].items():
        path = folder / filename
        if not path.exists():
            problems.append(f"{name}/{filename} is missing")
        elif sha256_file(path) != expected:
            problems.append(f"{name}/{filename} does not match its registered sha256")
    return problems


# --------------------------------------------------------------------------- generated sets


@dataclass
class FaceSet:
    """A generated set of synthetic people, ready for the lessons.

    ``embeddings[i]`` is image ``i``'s 128-d vector (NaN where detection failed,
    ``found[i]`` False); ``thumbnails`` are the images at 64 px; ``chips`` are the
    aligned 64 px faces the recogniser saw (grey where no face was found).
    Full-size images are not stored: :meth:`image` re-renders them from their seeds.
    """

    name: str
    identities: np.ndarray
    embeddings: np.ndarray
    found: np.ndarray
    provenance: list[dict]
    thumbnails: np.ndarray
    chips: np.ndarray
    parameters: dict

    def __len__(self) -> int:
        return len(self.identities)

    def image(self, i: int, size: int | None = None) -> np.ndarray:
        """Re-render image ``i`` at full size from its provenance (identity seed and view seed)."""
        from . import faces

        record = self.provenance[i]
        identity = faces.identity_parameters(int(record["identity_seed"]))
        if "identity_spread" in record:  # a group made less varied (course.fairness.synthetic_groups)
            from .fairness import shrink_identity

            identity = shrink_identity(identity, float(record["identity_spread"]))
        image, _ = faces.render_face(
            identity,
            view_seed=int(record["view_seed"]),
            size=size or self.parameters["size"],
            max_yaw=self.parameters["max_yaw"],
        )
        return image


def load(name: str = "synthetic-people", *, check: bool = True) -> FaceSet:
    """Load a generated set from ``data/NAME`` (verifying its checksums unless ``check=False``)."""
    entry = _entry(name, kind="generated")
    if check and (problems := verify(name)):
        raise DatasetError(
            "; ".join(problems) + f". Rebuild it with:  python -m course data build {name}"
        )
    folder = DATA_DIR / name
    provenance = _read_manifest(folder / "manifest.csv")
    with np.load(folder / "embeddings.npz") as arrays:
        embeddings, found = arrays["embeddings"], arrays["found"]
    return FaceSet(
        name=name,
        identities=np.array([int(r["identity"]) for r in provenance]),
        embeddings=embeddings,
        found=found,
        provenance=provenance,
        thumbnails=_read_mosaic(folder / "thumbnails.jpg", len(provenance)),
        chips=_read_mosaic(folder / "chips.jpg", len(provenance)),
        parameters=entry["parameters"],
    )


def build(name: str, *, progress: bool = True) -> dict[str, str]:
    """Generate a set from its registered parameters, write it to ``data/NAME``, return file checksums.

    Deterministic: the same generator version and parameters give the same images and manifest.
    The registry's checksums are updated to match (commit both together).
    """
    from . import embed

    entry = _entry(name, kind="generated")
    module_name, function_name = entry["generator"].rsplit(".", 1)
    generator = getattr(importlib.import_module(module_name), function_name)
    people = generator(**entry["parameters"])
    batch = embed.embed_batch(people.images, people.provenance, progress=progress)
    folder = DATA_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    _write_manifest(folder / "manifest.csv", people.identities, people.provenance)
    np.savez_compressed(
        folder / "embeddings.npz",
        embeddings=batch.vectors.astype(np.float32),
        found=batch.found,
    )
    thumbs = np.stack([_resize(img, THUMB) for img in people.images])
    chips = np.stack([
        _resize(embed.aligned_chip(img, box, record), THUMB) if box else np.full((THUMB, THUMB, 3), 128, np.uint8)
        for img, box, record in zip(people.images, batch.boxes, people.provenance)
    ])
    _write_mosaic(folder / "thumbnails.jpg", thumbs)
    _write_mosaic(folder / "chips.jpg", chips)
    checksums = {f: sha256_file(folder / f) for f in ("manifest.csv", "embeddings.npz", "thumbnails.jpg", "chips.jpg")}
    full = registry()
    full[name]["files"] = checksums
    full[name]["generator_version"] = people.provenance[0]["generator_version"]
    REGISTRY_PATH.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n")
    return checksums


def _write_manifest(path: Path, identities: np.ndarray, provenance: list[dict]) -> None:
    keys = ["index", "identity"] + sorted({k for record in provenance for k in record})
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for i, (identity, record) in enumerate(zip(identities, provenance)):
            row = {k: _format(v) for k, v in record.items()}
            writer.writerow({"index": i, **row, "identity": int(identity)})


def _read_manifest(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: _parse(v) for k, v in row.items()} for row in rows]


def _format(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(round(float(value), 6))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return str(value)


def _parse(text: str) -> object:
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _resize(image: np.ndarray, side: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((side, side), Image.LANCZOS))


def _write_mosaic(path: Path, tiles: np.ndarray, columns: int = 32) -> None:
    """Store N small images as one JPEG grid (a few hundred KB instead of many MB)."""
    n, h, w, _ = tiles.shape
    rows = -(-n // columns)
    grid = np.zeros((rows * h, columns * w, 3), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    Image.fromarray(grid).save(path, quality=92, optimize=True)


def _read_mosaic(path: Path, n: int, columns: int = 32) -> np.ndarray:
    grid = np.asarray(Image.open(path).convert("RGB"))
    h = w = grid.shape[1] // columns
    return np.stack([grid[(i // columns) * h:(i // columns + 1) * h, (i % columns) * w:(i % columns + 1) * w] for i in range(n)])


# --------------------------------------------------------------------------- consented sets


@dataclass
class ConsentedFaces:
    """A consented real-face set on disk: file paths, one provenance record each, and metadata."""

    name: str
    paths: list[Path]
    provenance: list[dict]
    metadata: list[dict]

    def image(self, i: int) -> np.ndarray:
        """Load image ``i`` as 8-bit RGB (downscaled to the registry's size if it is larger)."""
        from .images import load_image

        image = load_image(self.paths[i])
        side = _entry(self.name, kind="download")["image_size"]
        return _resize(image, side) if image.shape[0] > side else image


def fetch(name: str = "london", *, local_copy: str | os.PathLike | None = None, timeout: float = 20,
          download: bool = True) -> Path:
    """Make a consented set available offline, downloading it only if it is not already cached.

    ``local_copy`` (or the environment variable FACES_AT_SCALE_LONDON_DIR) points at a
    folder that already holds the set, e.g. a copy of a fetched cache that an instructor
    handed out; its files are checked against the registry instead of downloading
    anything. A file may be the original (``source_sha256``, what ``fetch`` downloads) or
    the registered downscaled copy (``sha256``). Every downloaded file is checked
    against its sha256 before it is kept.
    """
    entry = _entry(name, kind="download")
    rows = _consented_manifest(entry)
    local_copy = local_copy or os.environ.get(entry["local_copy_env"])
    if local_copy:
        folder = Path(local_copy)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder (set by local_copy or {entry['local_copy_env']}).")
        missing = [r["file"] for r in rows if not (folder / r["file"]).exists()]
        altered = [r["file"] for r in rows if r["file"] not in missing
                   and sha256_file(folder / r["file"]) not in (r["sha256"], r["source_sha256"])]
        if missing or altered:
            raise DatasetError(f"{folder}: {len(missing)} file(s) missing (e.g. {missing[:2]}) and {len(altered)} "
                               f"not matching the registry's checksums (e.g. {altered[:2]}); a copy must hold the "
                               f"files as fetched or as registered, under the names in the manifest.")
        return folder
    folder = CACHE_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        target = folder / row["file"]
        if target.exists() and sha256_file(target) == row["source_sha256"]:
            continue
        if not download:
            raise DatasetError(
                f"The optional '{name}' set has not been fetched (nothing is downloaded unless you ask). "
                f"To use it, run  python -m course data fetch {name}  once while online, or point "
                f"{entry['local_copy_env']} at a copy you were given."
            )
        url = entry["url_template"].format(commit=entry["commit"], path=row["source_path"])
        payload = _download(url, timeout, name)
        if hashlib.sha256(payload).hexdigest() != row["source_sha256"]:
            raise DatasetError(f"{url}: downloaded file does not match its registered sha256; nothing was kept.")
        target.write_bytes(payload)
    return folder


def load_consented(name: str = "london", *, local_copy: str | os.PathLike | None = None,
                   download: bool = False) -> ConsentedFaces:
    """Load a consented set, with a provenance record per image.

    It must already be on this machine (fetched, or a verified local copy) unless
    ``download=True``: lessons never start a download on their own.
    """
    entry = _entry(name, kind="download")
    folder = fetch(name, local_copy=local_copy, download=download)
    rows = _consented_manifest(entry)
    provenance = [
        {
            "source": "consented",
            "dataset": entry["title"],
            "licence": entry["licence"],
            "consent": entry["consent"],
            "file": row["file"],
        }
        for row in rows
    ]
    return ConsentedFaces(name, [folder / r["file"] for r in rows], provenance, rows)


def _download(url: str, timeout: float, name: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise DatasetError(
            f"Could not download {url} ({getattr(err, 'reason', err)}). The '{name}' set is optional: "
            "every lesson runs without it. When you are online, run  python -m course data fetch "
            f"{name}  or point FACES_AT_SCALE_LONDON_DIR at a copy you were given."
        ) from None


def _consented_manifest(entry: dict) -> list[dict]:
    path = DATA_DIR / entry["manifest"]
    if sha256_file(path) != entry["manifest_sha256"]:
        raise DatasetError(f"{path} does not match its registered sha256.")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _entry(name: str, *, kind: str) -> dict:
    entries = registry()
    if name not in entries:
        raise DatasetError(f"Unknown data set {name!r}; the registry has {sorted(entries)}.")
    entry = entries[name]
    if entry["kind"] != kind:
        raise DatasetError(f"{name!r} is a {entry['kind']} set, not a {kind} one.")
    return entry
