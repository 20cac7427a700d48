"""The embedding pipeline: face image -> box -> 68 landmarks -> aligned chip -> 128 numbers.

A thin, checked wrapper around ``face_recognition`` (which wraps dlib):

* every image is validated first (:mod:`course.images`), so bad input raises a
  course error instead of crashing inside dlib;
* every image must carry a provenance record (the consent guard,
  :func:`course.provenance.require_provenance`), and every vector keeps it;
* batches show a progress bar and are cached on disk, keyed by image content.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import dlib
import face_recognition
import numpy as np
from face_recognition import api as _fr_api
from PIL import Image
from tqdm.auto import tqdm

from .errors import NoFaceError, SeveralFacesError
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
#: Where computed embeddings are cached (override with FACES_AT_SCALE_CACHE).
CACHE_DIR = Path(
    os.environ.get("FACES_AT_SCALE_CACHE", Path(__file__).resolve().parent.parent / "data" / "cache")
) / "embeddings"

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
    exactly one face; ``failures[i]`` then says why ("no face" or "N faces").
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


def detect_faces(image: np.ndarray, *, model: str = "hog", upsample: int = 1) -> list[Box]:
    """Find face boxes with dlib's HOG detector (fast) or its CNN detector (slower, better recall)."""
    if model not in DETECTORS:
        raise ValueError(f"model must be one of {DETECTORS}, got {model!r}.")
    if isinstance(upsample, bool) or not isinstance(upsample, (int, np.integer)) or not 0 <= upsample <= 3:
        raise ValueError(f"upsample must be a whole number from 0 to 3 (times the image is doubled), got {upsample!r}.")
    image = check_rgb_array(image)
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


def landmarks_68(image: np.ndarray, box: Box) -> np.ndarray:
    """The 68 landmark points (x, y) that dlib's shape predictor puts on the face in ``box``."""
    image = check_rgb_array(image)
    shape = _fr_api.pose_predictor_68_point(image, _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int32)


def aligned_chip(image: np.ndarray, box: Box, *, size: int = 150) -> np.ndarray:
    """The rotated, scaled and cropped face the recogniser actually sees (150 x 150 by default).

    dlib aligns the eyes and nose from the 68 landmarks before computing the vector;
    this returns that chip so the lesson can show it.
    """
    image = check_rgb_array(image)
    shape = _fr_api.pose_predictor_68_point(image, _rect(box))
    return np.asarray(dlib.get_face_chip(image, shape, size=size, padding=0.25))


def encode_faces(
    image: np.ndarray, provenance: dict, *, model: str = "hog", upsample: int = 1
) -> list[FaceEmbedding]:
    """Embed every face in an image (a group photo gives several); [] if there is none."""
    require_provenance(provenance)
    image = check_rgb_array(image)
    boxes = detect_faces(image, model=model, upsample=upsample)
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

    Images that do not give exactly one face are recorded in ``failures`` rather than
    raising, because how often detection fails is itself something the lessons measure.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise ValueError(f"embed_batch got one image of shape {images.shape}, not a batch: wrap it in a list "
                         "([image], [record]) or use encode_face(image, record).")
    if len(images) != len(provenance):
        raise ValueError(f"{len(images)} images but {len(provenance)} provenance records.")
    for i, record in enumerate(provenance):
        require_provenance(record, what=f"image {i}")
    vectors = np.full((len(images), EMBEDDING_DIM), np.nan)
    boxes: list[Box | None] = [None] * len(images)
    failures: dict[int, str] = {}
    for i, image in enumerate(tqdm(images, desc=f"embedding ({model})", disable=not progress)):
        image = check_rgb_array(image, name=f"image {i}")
        key = _cache_key(image, model, upsample)
        cached = _cache_read(key) if cache else None
        if cached is None:
            faces = encode_faces(image, provenance[i], model=model, upsample=upsample)
            cached = _pack(faces)
            if cache:
                _cache_write(key, cached)
        n_faces = int(cached[0])
        if n_faces == 1:
            vectors[i] = cached[5:]
            boxes[i] = tuple(int(v) for v in cached[1:5])
        else:
            failures[i] = "no face" if n_faces == 0 else f"{n_faces} faces"
    found = ~np.isnan(vectors[:, 0])
    return BatchEmbeddings(vectors, found, boxes, list(provenance), failures)


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


def _cache_read(key: str) -> np.ndarray | None:
    path = CACHE_DIR / f"{key}.npy"
    try:
        record = np.load(path)
    except (OSError, ValueError):
        return None
    return record if record.shape == (5 + EMBEDDING_DIM,) else None


def _cache_write(key: str, record: np.ndarray) -> None:
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = CACHE_DIR / f"{key}.{os.getpid()}.tmp.npy"
        np.save(tmp, record)
        tmp.replace(CACHE_DIR / f"{key}.npy")
    except OSError as err:
        raise OSError(f"cannot write the embedding cache in {CACHE_DIR} ({err}): set FACES_AT_SCALE_CACHE to a "
                      "folder you can write to, or pass cache=False") from None
