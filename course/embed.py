"""The embedding pipeline: face image -> box -> 68 landmarks -> aligned chip -> 128 numbers.

A thin, checked wrapper around ``face_recognition`` (which wraps dlib):

* every image is validated first (:mod:`course.images`), so bad input raises a
  course error instead of crashing inside dlib;
* every function that touches a face needs the image's provenance record (the consent
  guard, :func:`course.provenance.require_provenance`), and every vector keeps it;
* batches show a progress bar and are cached on disk, keyed by image content; a cached
  record that is unreadable or implausible is recomputed, never served.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import dlib
import face_recognition
import numpy as np
from face_recognition import api as _fr_api
from PIL import Image
from tqdm.auto import tqdm

from .errors import ImageInputError, NoFaceError, SeveralFacesError
from .images import check_rgb_array
from .provenance import require_provenance

DETECTORS = ("hog", "cnn")
#: Most pixels a detector may scan (image pixels x 4 per upsampling step). dlib's CNN needs about
#: 1 kB per scanned pixel and HOG about 13 bytes, so these keep detection within a 2 GB Binder
#: session; a larger image is scanned downscaled, and the boxes are scaled back. Course images
#: (256 px, upsample 1) are far below both.
DETECTION_PIXEL_BUDGET = {"hog": 16_000_000, "cnn": 500_000}
EMBEDDING_DIM = 128
#: The software that produced a vector; part of the cache key, so a new version recomputes.
PIPELINE_VERSION = f"face_recognition {face_recognition.__version__} / dlib {dlib.__version__}"
#: The norm of a dlib face vector: 1.20 to 1.45 over the 2,476 vectors of the course's three
#: synthetic sets; a cached record outside this wider band is damaged and is recomputed.
PLAUSIBLE_NORM = (0.5, 2.5)


def cache_dir_from_environment() -> Path:
    """Where computed embeddings are cached: FACES_AT_SCALE_CACHE/embeddings, or data/cache/embeddings.

    An empty (or blank) FACES_AT_SCALE_CACHE counts as unset: it would otherwise mean
    "the current folder", wherever the notebook happens to run."""
    chosen = os.environ.get("FACES_AT_SCALE_CACHE", "").strip()
    return Path(chosen or Path(__file__).resolve().parent.parent / "data" / "cache") / "embeddings"


#: Where computed embeddings are cached (override with FACES_AT_SCALE_CACHE).
CACHE_DIR = cache_dir_from_environment()


class CacheWarning(UserWarning):
    """The embedding cache could not be written; embedding carries on without it."""


Box = tuple[int, int, int, int]  # (top, right, bottom, left), face_recognition's order


@dataclass
class FaceEmbedding:
    """One face's 128-d vector, where it was found, and where the image came from."""

    vector: np.ndarray
    box: Box
    provenance: dict


@dataclass
class BatchEmbeddings:
    """Embeddings of a batch of images, aligned with the input order.

    ``vectors[i]`` is NaN and ``found[i]`` is False where image ``i`` did not give
    exactly one face; ``failures[i]`` then says why: "no face", "N faces", or
    "unusable image: ..." with the specific problem (such an image counts as not found).
    """

    vectors: np.ndarray
    found: np.ndarray
    boxes: list[Box | None]
    provenance: list[dict]
    failures: dict[int, str] = field(default_factory=dict)

    @property
    def detection_rate(self) -> float:
        """Fraction of images in which exactly one face was found."""
        return float(self.found.mean()) if len(self.found) else 0.0


def detect_faces(image: np.ndarray, provenance: dict, *, model: str = "hog", upsample: int = 1) -> list[Box]:
    """Find face boxes with dlib's HOG detector (fast) or its CNN detector (slower, better recall)."""
    _check_options(model, upsample)
    return _detect(_guarded(image, provenance), model, upsample)


def landmarks_68(image: np.ndarray, box: Box, provenance: dict) -> np.ndarray:
    """The 68 landmark points (x, y) that dlib's shape predictor puts on the face in ``box``."""
    shape = _fr_api.pose_predictor_68_point(_guarded(image, provenance), _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int32)


def aligned_chip(image: np.ndarray, box: Box, provenance: dict, *, size: int = 150) -> np.ndarray:
    """The rotated, scaled and cropped face the recogniser actually sees (150 x 150 by default).

    dlib aligns the eyes and nose from the 68 landmarks before computing the vector;
    this returns that chip so the lesson can show it.
    """
    image = _guarded(image, provenance)
    shape = _fr_api.pose_predictor_68_point(image, _rect(box))
    return np.asarray(dlib.get_face_chip(image, shape, size=size, padding=0.25))


def encode_faces(
    image: np.ndarray, provenance: dict, *, model: str = "hog", upsample: int = 1
) -> list[FaceEmbedding]:
    """Embed every face in an image (a group photo gives several); [] if there is none."""
    image = _guarded(image, provenance)
    boxes = _detect(image, model, upsample)
    vectors = face_recognition.face_encodings(image, boxes, model="large")
    return [FaceEmbedding(np.asarray(v), box, provenance) for v, box in zip(vectors, boxes)]


def encode_face(
    image: np.ndarray, provenance: dict, *, model: str = "hog", upsample: int = 1
) -> FaceEmbedding:
    """Embed the one face in an image; raise NoFaceError or SeveralFacesError otherwise."""
    faces = encode_faces(image, provenance, model=model, upsample=upsample)
    if not faces:
        raise NoFaceError(
            f"No face found by the {model.upper()} detector. Check that the face is upright, "
            "at least ~80 px wide and lit from the front; the CNN detector (model='cnn') finds more, "
            "at about 50 times the CPU time."
        )
    if len(faces) > 1:
        boxes = ", ".join(str(f.box) for f in faces)
        raise SeveralFacesError(
            f"{len(faces)} faces found (boxes {boxes}); crop the image to one face, "
            "or use encode_faces(...) to embed them all."
        )
    return faces[0]


def embed_batch(
    images: Sequence[np.ndarray] | np.ndarray,
    provenance: Sequence[dict],
    *,
    model: str = "hog",
    upsample: int = 1,
    progress: bool = True,
    cache: bool = True,
) -> BatchEmbeddings:
    """Embed a batch of single-face images, with a progress bar and an on-disk cache.

    Images that do not give exactly one face, and images that cannot be used at all
    (wrong dtype, too small...), are recorded in ``failures`` with the reason rather than
    raising, so one bad item never loses the others' results. A record the consent guard
    refuses stops the whole batch before any work. A cache that cannot be written gives
    one warning and the batch carries on uncached.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise ValueError(f"embed_batch got one image of shape {images.shape}, not a batch: wrap it in a list "
                         "([image], [record]) or use encode_face(image, record).")
    if len(images) != len(provenance):
        raise ValueError(f"{len(images)} images but {len(provenance)} provenance records.")
    _check_options(model, upsample)
    for i, record in enumerate(provenance):
        require_provenance(record, what=f"image {i}")
    checked: list[np.ndarray | None] = []
    failures: dict[int, str] = {}
    for i, image in enumerate(images):
        try:
            image = check_rgb_array(image, name=f"image {i}")
        except ImageInputError as err:
            failures[i] = f"unusable image: {err}"
            checked.append(None)
            continue
        require_provenance(provenance[i], what=f"image {i}", image=image)
        checked.append(image)
    vectors = np.full((len(images), EMBEDDING_DIM), np.nan)
    boxes: list[Box | None] = [None] * len(images)
    for i, image in enumerate(tqdm(checked, desc=f"embedding ({model})", disable=not progress)):
        if image is None:
            continue
        key = _cache_key(image, model, upsample)
        record = _cache_read(key, image.shape) if cache else None
        if record is None:
            record = _pack(encode_faces(image, provenance[i], model=model, upsample=upsample))
            if cache and not _cache_write(key, record):
                cache = False  # warned once; the rest of the batch runs uncached
        n_faces = int(record[0])
        if n_faces == 1:
            vectors[i] = record[5:]
            boxes[i] = tuple(int(v) for v in record[1:5])
        else:
            failures[i] = "no face" if n_faces == 0 else f"{n_faces} faces"
    found = ~np.isnan(vectors[:, 0])
    return BatchEmbeddings(vectors, found, boxes, list(provenance), dict(sorted(failures.items())))


def _guarded(image: np.ndarray, provenance: dict) -> np.ndarray:
    """The image as dlib needs it, once the consent guard has accepted its record for it."""
    image = check_rgb_array(image)
    require_provenance(provenance, image=image)
    return image


def _check_options(model: str, upsample: int) -> None:
    if model not in DETECTORS:
        raise ValueError(f"model must be one of {DETECTORS}, got {model!r}.")
    if isinstance(upsample, bool) or not isinstance(upsample, (int, np.integer)) or not 0 <= upsample <= 3:
        raise ValueError(f"upsample must be a whole number from 0 to 3 (times the image is doubled), got {upsample!r}.")


def _detect(image: np.ndarray, model: str, upsample: int) -> list[Box]:
    """Face boxes in a checked image; a large image is scanned downscaled and its boxes scaled back."""
    _check_options(model, upsample)
    height, width = image.shape[:2]
    scale = min(1.0, (DETECTION_PIXEL_BUDGET[model] / (height * width * 4 ** int(upsample))) ** 0.5)
    scanned = image
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        scanned = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    boxes = []
    for top, right, bottom, left in face_recognition.face_locations(scanned, int(upsample), model):
        boxes.append((max(0, round(top / scale)), min(width, round(right / scale)),
                      min(height, round(bottom / scale)), max(0, round(left / scale))))
    return boxes


def _rect(box: Box) -> dlib.rectangle:
    top, right, bottom, left = box
    return dlib.rectangle(left, top, right, bottom)


def _pack(faces: list[FaceEmbedding]) -> np.ndarray:
    """Cache record: [n_faces, top, right, bottom, left, 128 values] (box and vector only if n == 1)."""
    record = np.zeros(5 + EMBEDDING_DIM)
    record[0] = len(faces)
    if len(faces) == 1:
        record[1:5] = faces[0].box
        record[5:] = faces[0].vector
    return record


def _cache_key(image: np.ndarray, model: str, upsample: int) -> str:
    digest = hashlib.sha256(image.tobytes())
    digest.update(f"{image.shape}|{model}|{upsample}|{PIPELINE_VERSION}".encode())
    return digest.hexdigest()


def _cache_read(key: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached record for ``key``, or None (a miss) if it is absent, unreadable or implausible."""
    path = CACHE_DIR / f"{key}.npy"
    try:
        record = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):  # absent, a folder, truncated, empty, garbage, pickled
        return None
    return record if _plausible(record, shape) else None


def _plausible(record: object, shape: tuple[int, ...]) -> bool:
    """Could ``record`` be what :func:`_pack` wrote for an image of this shape?

    Finite numbers of the right shape; a whole, non-negative face count; for one face a
    box of positive size inside the image and a vector whose norm is like dlib's; for
    any other count, zeros where the box and vector would be."""
    if not isinstance(record, np.ndarray) or record.shape != (5 + EMBEDDING_DIM,) or record.dtype != np.float64:
        return False
    if not np.all(np.isfinite(record)):
        return False
    n_faces = record[0]
    if n_faces < 0 or n_faces != int(n_faces):
        return False
    if n_faces != 1:
        return not np.any(record[1:])
    top, right, bottom, left = record[1:5]
    height, width = shape[:2]
    if not np.array_equal(record[1:5], np.round(record[1:5])):
        return False
    if not (0 <= top < bottom <= height and 0 <= left < right <= width):
        return False
    low, high = PLAUSIBLE_NORM
    return bool(low <= np.linalg.norm(record[5:]) <= high)


def _cache_write(key: str, record: np.ndarray) -> bool:
    """Store ``record`` atomically (a reader sees the old file or the whole new one, never a part).

    Returns False, after one warning saying why, when the cache cannot be written."""
    path = CACHE_DIR / f"{key}.npy"
    tmp = None
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder where this cache file should be; remove that folder")
        handle, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=CACHE_DIR)
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, record, allow_pickle=False)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
        tmp = None
        return True
    except OSError as err:
        warnings.warn(
            f"cannot write the embedding cache in {CACHE_DIR} ({err}); carrying on without it. Set "
            "FACES_AT_SCALE_CACHE to a folder you can write to, or pass cache=False.", CacheWarning, stacklevel=3)
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
