"""Proof that a synthetic face is synthetic: its provenance record re-renders it, bit for bit.

:mod:`course.faces` is deterministic: a generator version, an identity (a seed, or an
explicit identity vector), a view seed, the size and the pose range give one image and
no other. So a synthetic record is checked by rendering what it describes and comparing
pixels. A record borrowed from another image, or made up for a real photo, renders a
different image and is refused. Two ways the course itself serves its renders are
known and checked as such: the scrape lab's JPEG photos (one portrait, or several
side by side) and a re-render at another size. A cloaked render (:mod:`course.cloaking`)
is checked by re-rendering and re-applying the cloak its record holds. Crops, resized copies and other edits
of a render cannot be verified and are refused: embed the render itself.

A verified (image, record) pair is remembered (keyed by a hash of both), so the
pipeline's several steps on one image render it once.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from .errors import ProvenanceError

#: How many verified (image, record) pairs are remembered (about 1 kB each).
VERIFIED_CAPACITY = 4096
#: The pose range (max_yaw) when a record neither states it nor carries the yaw it drew.
DEFAULT_MAX_YAW = 15.0

_verified: OrderedDict[str, None] = OrderedDict()


def verify_synthetic(record: dict, image: object, *, what: str = "image") -> None:
    """Raise ProvenanceError unless rendering what ``record`` describes gives exactly ``image``."""
    from .images import check_rgb_array

    image = check_rgb_array(image, name=what)
    key = _pair_key(record, image)
    if key in _verified:
        _verified.move_to_end(key)
        return
    expected = expected_image(record, image, what=what)
    if expected.shape != image.shape or not np.array_equal(expected, image):
        raise ProvenanceError(
            f"{what}: its synthetic provenance record does not re-render this image (identity seed "
            f"{record.get('identity_seed')!r}, view seed {record.get('view_seed')!r}). The record belongs to "
            "another image, or the image was edited (cropped, resized, pasted) after rendering. Use the "
            "record that came with the image, and embed the rendered image itself."
        )
    _verified[key] = None
    if len(_verified) > VERIFIED_CAPACITY:
        _verified.popitem(last=False)


def expected_image(record: dict, reference: np.ndarray, *, what: str = "image") -> np.ndarray:
    """The image ``record`` describes, at the size of ``reference`` (an image said to match it).

    Where the record leaves the pose range open, each likely range is tried against the
    reference; any match is still bit for bit."""
    from . import faces

    if record.get("generator_version") != faces.GENERATOR_VERSION:
        raise ProvenanceError(
            f"{what}: made by generator version {record.get('generator_version')!r}, but this course renders "
            f"{faces.GENERATOR_VERSION!r}, so the record cannot be checked. Re-make the image with this version."
        )
    height, width = reference.shape[:2]
    if _from_scrape_lab(record):
        if "cloak" in record:
            raise ProvenanceError(f"{what}: only a course render can carry a cloak, not a scrape-lab photo.")
        return _scrape_lab_photo(record, height, width, what)
    if width != height:
        raise ProvenanceError(f"{what}: a synthetic render is square, this image is {width} x {height}: "
                              "was it cropped or pasted? Embed the rendered image itself.")
    identity = _identity(record, what)
    view_seed = _whole_number(record["view_seed"], "view_seed", what)
    image = None
    for max_yaw in _max_yaw_candidates(record, view_seed):
        image, _ = faces.render_face(identity, view_seed=view_seed, size=height, max_yaw=max_yaw)
        if "cloak" in record:
            image = _cloaked(image, record["cloak"], what)
        if np.array_equal(image, reference):
            break
    return image


def _cloaked(image: np.ndarray, cloak: object, what: str) -> np.ndarray:
    """The render with the cloak its record describes (course.cloaking), or a ProvenanceError."""
    from .cloaking import apply_cloak

    try:
        return apply_cloak(image, cloak)
    except ValueError as exc:
        raise ProvenanceError(f"{what}: its record's cloak cannot be rebuilt: {exc}") from None


def _identity(record: dict, what: str) -> np.ndarray:
    """The identity vector: stated in the record, or drawn from its identity seed (then shrunk, for a group)."""
    from . import faces

    if "identity_vector" in record:
        vector = np.asarray(record["identity_vector"], dtype=np.float64)
        if vector.shape != (faces.N_IDENTITY_PARAMETERS,):
            raise ProvenanceError(f"{what}: identity_vector must hold {faces.N_IDENTITY_PARAMETERS} numbers, "
                                  f"got shape {vector.shape}.")
        return vector
    seed = _whole_number(record["identity_seed"], "identity_seed", what)
    vector = faces.identity_parameters(seed)
    if "identity_spread" in record:  # a group made less varied (course.fairness.synthetic_groups)
        from .fairness import shrink_identity

        vector = shrink_identity(vector, float(record["identity_spread"]))
    return vector


def _max_yaw_candidates(record: dict, view_seed: int) -> list[float]:
    """The pose range the view was drawn with: stated, or recovered from the yaw the record carries.

    ``render_face`` draws the yaw first, as ``rng.uniform(-max_yaw, max_yaw)``, so the
    record's yaw divided by the same draw on (-1, 1) gives max_yaw back. A record may carry
    the yaw of another view (a copy of a record with a new view seed), so the usual range
    is tried too."""
    if "max_yaw" in record:
        return [float(record["max_yaw"])]
    candidates = [DEFAULT_MAX_YAW]
    unit = np.random.default_rng(view_seed).uniform(-1.0, 1.0)
    if "yaw" in record and abs(unit) > 1e-9:
        candidates.insert(0, round(abs(float(record["yaw"]) / unit), 3))
    return list(dict.fromkeys(candidates))


def _from_scrape_lab(record: dict) -> bool:
    return "course.scrapelab" in str(record.get("site", ""))


def _scrape_lab_photo(record: dict, height: int, width: int, what: str) -> np.ndarray:
    """A photo as the scrape lab serves it: JPEG of one portrait, or of several side by side.

    A group photo's record lists everyone in it, left to right, in ``identity_seeds`` and
    ``view_seeds`` (:func:`course.crawl.photo_records` gives each person's seeds)."""
    if "identity_seeds" in record:
        identity_seeds = tuple(_whole_number(s, "identity_seeds", what) for s in record["identity_seeds"])
        view_seeds = tuple(_whole_number(s, "view_seeds", what) for s in record.get("view_seeds", ()))
    else:
        identity_seeds = (_whole_number(record["identity_seed"], "identity_seed", what),)
        view_seeds = (_whole_number(record["view_seed"], "view_seed", what),)
    if len(identity_seeds) != len(view_seeds) or width != height * len(identity_seeds):
        raise ProvenanceError(
            f"{what}: a scrape-lab photo of {len(identity_seeds)} {'person' if len(identity_seeds) == 1 else 'people'} "
            f"is {height * len(identity_seeds)} x "
            f"{height} pixels, this image is {width} x {height}. A group photo's record lists everyone in it "
            "(identity_seeds and view_seeds, left to right)."
        )
    return _decoded_scrape_lab_jpeg(identity_seeds, view_seeds, height)


@lru_cache(maxsize=256)
def _decoded_scrape_lab_jpeg(identity_seeds: tuple[int, ...], view_seeds: tuple[int, ...], size: int) -> np.ndarray:
    from . import scrapelab
    from .images import load_image

    if len(identity_seeds) == 1:
        data = scrapelab.photo_bytes(identity_seeds[0], view_seeds[0], size)
    else:
        data = scrapelab.group_photo_bytes(identity_seeds, view_seeds, size)
    return load_image(data)


def _whole_number(value: object, field: str, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        value = None
    try:
        number = int(value) if isinstance(value, (int, np.integer)) or str(value).strip().isdigit() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise ProvenanceError(
            f"{what}: the synthetic record's {field} is {value!r}, not a seed (a whole number), so nothing can "
            "re-render the image to prove it synthetic. A face drawn from an identity vector must carry it "
            "(identity_vector)."
        )
    return number


def _pair_key(record: dict, image: np.ndarray) -> str:
    digest = hashlib.sha256(image.tobytes())
    digest.update(repr(image.shape).encode())
    digest.update(json.dumps(record, sort_keys=True, default=repr).encode())
    return digest.hexdigest()
