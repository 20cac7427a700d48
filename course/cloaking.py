"""Cloaking: what one person can do against a face recogniser, and how far it gets them.

Fawkes (Shan et al. 2020) and LowKey (Cherepanova et al. 2021) add a small, bounded change
to a photo so that a recogniser's embedding of it moves away from the person. Both need
gradients of a model they own; dlib gives none. So this cloak is *black-box*: a random
search (in the spirit of Andriushchenko et al.'s Square Attack, 2020) that only asks the
recogniser for embeddings. It searches a coarse grid of +-``budget`` pixel offsets (every
offset is a vertex of the L-infinity ball, where the search works best), upsampled to the
image by repeating each cell, and keeps a change when it pushes the embedding further
from the person's *enrolled* embedding (another photo of them that the system holds). It
stops when the photo would no longer match at the threshold, or when its queries run out.

Each query embeds the aligned 150 x 150 chip with the landmarks of the unperturbed photo,
so the search does not re-detect the face; :func:`cloak_study` then judges every cloaked
photo through the full pipeline (detection, landmarks, chip, vector), as a recogniser
would see it, and with two simple "adaptive defender" preprocessings of the chip (a
Gaussian blur, a JPEG re-encode).

A cloaked synthetic photo is a derived image. Its provenance record is the record of the
rendered photo plus a ``cloak`` entry that holds the grid itself, so the consent guard can
rebuild the cloaked photo from the re-rendered one (:func:`apply_cloak`), bit for bit.
:func:`ssim` measures how visible the change is (Wang et al. 2004).
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

#: Version of the cloak's construction (grid -> offsets -> image), recorded with every cloak.
METHOD = "grid-random-search-linf-1"
#: The largest L-infinity budget a cloak record may claim, in pixel levels (0-255): beyond this it is not a cloak.
MAX_BUDGET = 16
#: Equal-error threshold of dlib on the course's synthetic people (data/DATASHEET-synthetic-people.md).
SYNTHETIC_THRESHOLD = 0.40


# --------------------------------------------------------------------------- the cloak itself


def _check_budget(budget: object) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or not 1 <= budget <= MAX_BUDGET:
        raise ValueError(f"the cloak's budget is a whole number of pixel levels from 1 to {MAX_BUDGET}, got {budget!r}")
    return int(budget)


def _check_grid(grid: object, size: int) -> int:
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 1 or size % grid:
        raise ValueError(f"the cloak's grid must be a whole number that divides the image size {size}, got {grid!r}")
    return int(grid)


def offsets(signs: np.ndarray, budget: int, size: int) -> np.ndarray:
    """The pixel offsets of a cloak: each grid cell's +-1 per colour, times ``budget``, over a square block."""
    signs = np.asarray(signs)
    block = size // signs.shape[0]
    return np.repeat(np.repeat(signs.astype(np.int16) * budget, block, axis=0), block, axis=1)


def perturb(image: np.ndarray, signs: np.ndarray, budget: int) -> np.ndarray:
    """``image`` plus the cloak's offsets, clipped to 0-255 (whole numbers throughout: exactly reproducible)."""
    return np.clip(image.astype(np.int16) + offsets(signs, budget, image.shape[0]), 0, 255).astype(np.uint8)


def encode_signs(signs: np.ndarray) -> str:
    """The grid of +-1 as a hex string (one bit per cell and colour), for the provenance record."""
    return np.packbits(np.asarray(signs).reshape(-1) > 0).tobytes().hex()


def decode_signs(text: str, grid: int) -> np.ndarray:
    """The grid of +-1 stored by :func:`encode_signs`; a clear error if it does not fit the grid."""
    try:
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(text), np.uint8))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the cloak's signs are not a hex string ({exc})") from None
    n = grid * grid * 3
    if len(bits) != 8 * ((n + 7) // 8) or bits[n:].any():
        raise ValueError(f"the cloak's signs hold {len(bits)} bits, a {grid} x {grid} grid needs {n}")
    return np.where(bits[:n].reshape(grid, grid, 3) > 0, 1, -1).astype(np.int8)


def apply_cloak(image: np.ndarray, cloak: dict) -> np.ndarray:
    """Rebuild a cloaked photo from the rendered one and its record's ``cloak`` entry (raises ValueError if malformed)."""
    if not isinstance(cloak, dict):
        raise ValueError(f"a cloak record is a dict, got {type(cloak).__name__}")
    if cloak.get("method") != METHOD:
        raise ValueError(f"unknown cloak method {cloak.get('method')!r}; this course makes {METHOD!r}")
    budget = _check_budget(cloak.get("budget"))
    grid = _check_grid(cloak.get("grid"), image.shape[0])
    return perturb(image, decode_signs(cloak.get("signs", ""), grid), budget)


# --------------------------------------------------------------------------- the black-box search


class ChipOracle:
    """The recogniser as the cloak sees it: image in, 128 numbers out (no gradients).

    The landmarks are found once, on the guarded unperturbed photo; each query cuts the
    aligned chip from the perturbed image with them and embeds it."""

    def __init__(self, image: np.ndarray, provenance: dict) -> None:
        import dlib
        from face_recognition import api

        from . import embed

        box = embed.encode_face(image, provenance).box
        self.shape = api.pose_predictor_68_point(image, dlib.rectangle(box[3], box[0], box[1], box[2]))
        self.queries = 0

    def face_cells(self, grid: int, size: int) -> tuple[int, int, int, int]:
        """The grid cells (first row, end row, first column, end column) under the face and its chip margin."""
        rect, cell = self.shape.rect, size / grid
        pad = 0.25 * max(rect.width(), rect.height())
        first = lambda v: int(np.clip((v - pad) // cell, 0, grid - 1))  # noqa: E731
        end = lambda v: int(np.clip(-(-(v + pad) // cell), 1, grid))  # noqa: E731
        return first(rect.top()), end(rect.bottom()), first(rect.left()), end(rect.right())

    def chip(self, image: np.ndarray) -> np.ndarray:
        import dlib

        return np.asarray(dlib.get_face_chip(image, self.shape, size=150, padding=0.25))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        self.queries += 1
        return chip_vector(self.chip(image))


def chip_vector(chip: np.ndarray) -> np.ndarray:
    """dlib's 128-d vector of an aligned 150 x 150 chip (made by a guarded pipeline step)."""
    from face_recognition import api

    return np.asarray(api.face_encoder.compute_face_descriptor(np.ascontiguousarray(chip)))


@dataclass(frozen=True)
class Cloak:
    """One search's result: the grid, the record entry that rebuilds it, and what it cost."""

    signs: np.ndarray
    record: dict
    start_distance: float  # chip embedding of the photo to the enrolled embedding, before
    distance: float  # ... after
    queries: int
    seconds: float


def find_cloak(image: np.ndarray, provenance: dict, enrolled: np.ndarray, *, budget: int = 8, grid: int = 32,
               max_queries: int = 150, goal: float = SYNTHETIC_THRESHOLD + 0.05, seed: int = 0) -> Cloak:
    """Search for a cloak that moves ``image``'s embedding at least ``goal`` away from ``enrolled``.

    Random search over a ``grid`` x ``grid`` pattern of +-``budget`` offsets (per colour):
    start from a random pattern, then repeatedly redraw one square of it over the face (one
    sign per colour, squares shrinking as queries are spent) and keep the change if the
    distance grows. Deterministic for a given seed."""
    from .images import check_rgb_array
    from .provenance import require_provenance

    image = check_rgb_array(image, name="image to cloak")
    require_provenance(provenance, what="image to cloak", image=image)
    budget = _check_budget(budget)
    grid = _check_grid(grid, image.shape[0])
    enrolled = np.asarray(enrolled, dtype=np.float64)
    if enrolled.shape != (128,) or not np.all(np.isfinite(enrolled)):
        raise ValueError(f"enrolled must be one finite 128-d embedding, got shape {enrolled.shape}")
    if isinstance(max_queries, bool) or not isinstance(max_queries, (int, np.integer)) or max_queries < 1:
        raise ValueError(f"max_queries must be a whole number >= 1, got {max_queries!r}")
    start = time.perf_counter()
    oracle = ChipOracle(image, provenance)
    rng = np.random.default_rng(seed)
    start_distance = float(np.linalg.norm(oracle(image) - enrolled))
    signs = _starting_signs(seed, grid, rng)
    best = float(np.linalg.norm(oracle(perturb(image, signs, budget)) - enrolled))
    top, bottom, left, right = oracle.face_cells(grid, image.shape[0])
    span = min(bottom - top, right - left)
    while oracle.queries < max_queries and best < goal:
        # Squares are drawn over the face only (the rest of the photo never reaches the recogniser).
        side = max(1, int(round(span * 0.5 * (1 - oracle.queries / max_queries))))
        row = rng.integers(top, bottom - side + 1)
        col = rng.integers(left, right - side + 1)
        candidate = signs.copy()
        candidate[row:row + side, col:col + side] = rng.choice(np.array([-1, 1], np.int8), size=3)
        distance = float(np.linalg.norm(oracle(perturb(image, candidate, budget)) - enrolled))
        if distance > best:
            signs, best = candidate, distance
    record = {"method": METHOD, "budget": budget, "grid": grid, "signs": encode_signs(signs), "seed": int(seed),
              "queries": oracle.queries, "goal": goal}
    return Cloak(signs, record, start_distance, best, oracle.queries, time.perf_counter() - start)


def _starting_signs(seed: int, grid: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """The search's first pattern: random signs, the first draw of its seeded generator."""
    rng = np.random.default_rng(seed) if rng is None else rng
    return rng.choice(np.array([-1, 1], np.int8), size=(grid, grid, 3))


def cloaked_provenance(provenance: dict, cloak: dict) -> dict:
    """The record of the cloaked photo: the rendered photo's record plus the cloak entry that rebuilds it."""
    return {**provenance, "cloak": dict(cloak)}


# --------------------------------------------------------------------------- how visible


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 255.0) -> float:
    """Mean structural similarity of two images (Wang et al. 2004): 1 for identical images, lower as they differ.

    Gaussian windows (sigma 1.5), K1 = 0.01, K2 = 0.03, computed per colour channel and averaged."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"SSIM compares two images of the same shape, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("SSIM: the images contain NaN or infinite values")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for ch in range(a.shape[2]):
        x, y = a[..., ch], b[..., ch]
        blur = lambda z: ndimage.gaussian_filter(z, 1.5, truncate=3.5)  # noqa: E731 - an 11 x 11 window, as in the paper
        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        values.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(values))


# --------------------------------------------------------------------------- the study


def blurred(chip: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """An adaptive defender's first try: Gaussian-blur the chip before embedding it."""
    return np.clip(ndimage.gaussian_filter(chip.astype(np.float64), (sigma, sigma, 0)) + 0.5, 0, 255).astype(np.uint8)


def jpeg(chip: np.ndarray, quality: int = 75) -> np.ndarray:
    """An adaptive defender's second try: re-encode the chip as JPEG."""
    buf = io.BytesIO()
    Image.fromarray(chip).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).copy()


@dataclass(frozen=True)
class PersonResult:
    """One person's photo before and after cloaking, judged through the full pipeline."""

    identity_seed: int
    detector: str  # which detector found the cloaked face: "hog", "cnn" (HOG missed it) or "none"
    before: float  # distance of the clean photo to the enrolled embedding
    after: float  # ... of the cloaked photo
    random_pattern: float  # ... of the photo with the search's random starting pattern (no search: noise alone)
    after_blur: float  # ... of the cloaked photo, chip blurred before embedding
    after_jpeg: float  # ... of the cloaked photo, chip re-encoded as JPEG
    clean_blur: float  # ... of the clean photo, chip blurred (the defender's cost)
    ssim: float
    linf: int
    l2: float  # of the offsets, in pixel levels, over the whole image
    queries: int
    seconds: float


@dataclass(frozen=True)
class CloakStudy:
    """:func:`cloak_study`'s people, and their rates at the threshold."""

    people: list[PersonResult]
    threshold: float
    budget: int
    cloaks: list[dict]  # each person's cloak entry (the record that rebuilds the cloaked photo)

    def match_rate(self, field: str) -> float:
        return float(np.mean([getattr(p, field) <= self.threshold for p in self.people]))

    def table(self) -> str:
        t = self.threshold
        lines = [f"{len(self.people)} synthetic people, budget {self.budget}/255, threshold {t:.2f}",
                 f"match rate, clean photo:                        {self.match_rate('before'):.0%}",
                 f"match rate, cloaked photo:                      {self.match_rate('after'):.0%}",
                 f"match rate, random pattern, same budget:        {self.match_rate('random_pattern'):.0%}",
                 f"match rate, cloaked photo, chip blurred:        {self.match_rate('after_blur'):.0%}",
                 f"match rate, cloaked photo, chip JPEG q75:       {self.match_rate('after_jpeg'):.0%}",
                 f"match rate, clean photo, chip blurred:          {self.match_rate('clean_blur'):.0%}"]
        p = self.people
        lines.append(f"cloaked faces HOG missed: {sum(x.detector != 'hog' for x in p)} "
                     f"(the CNN detector found {sum(x.detector == 'cnn' for x in p)} of them)")
        lines.append(f"distance to enrolled (inf: no face found): median {np.median([x.before for x in p]):.3f} -> "
                     f"{np.median([x.after for x in p]):.3f}")
        lines.append(f"SSIM median {np.median([x.ssim for x in p]):.3f} (min {min(x.ssim for x in p):.3f}); "
                     f"L-inf {max(x.linf for x in p)}; L2 median {np.median([x.l2 for x in p]):.0f}")
        seconds = [x.seconds for x in p if not math.isnan(x.seconds)]
        lines.append(f"queries median {np.median([x.queries for x in p]):.0f} (max {max(x.queries for x in p)})"
                     + (f"; search seconds per person median {np.median(seconds):.2f}" if seconds else
                        " (cloaks rebuilt from their records, not searched)"))
        return "\n".join(lines)


def cloak_study(n_people: int = 5, *, budget: int = 8, grid: int = 32, max_queries: int = 150, seed: int = 0,
                size: int = 256, threshold: float = SYNTHETIC_THRESHOLD, saved: list[dict] | None = None) -> CloakStudy:
    """Cloak one photo of each of ``n_people`` synthetic people and judge it as a recogniser would.

    Each person has two photos (``course.faces.synthetic_faces(n_people, 2, seed=seed)``):
    the second is enrolled; the first is the photo they post, cloaked. Every distance is
    measured through the full pipeline (HOG detection, landmarks, chip, vector); where a
    cloak hides the face from HOG, the CNN detector is tried, and a face no detector finds
    is at distance infinity (it matches nothing). With
    ``saved`` (the ``cloak`` entries of an earlier run, as :func:`save_cloaks` writes them),
    the cloaks are rebuilt from their records instead of searched for again."""
    from threadpoolctl import threadpool_limits

    from . import embed, faces

    if isinstance(n_people, bool) or not isinstance(n_people, (int, np.integer)) or n_people < 1:
        raise ValueError(f"n_people must be a whole number >= 1, got {n_people!r}")
    if saved is not None and len(saved) < n_people:
        raise ValueError(f"{len(saved)} saved cloaks for {n_people} people")
    rendered = faces.synthetic_faces(n_people, 2, seed=seed, size=size)
    results, entries = [], []
    with threadpool_limits(limits=1):
        for person in range(n_people):
            photo, enrolled_photo = rendered.images[2 * person], rendered.images[2 * person + 1]
            record, enrolled_record = rendered.provenance[2 * person], rendered.provenance[2 * person + 1]
            enrolled = embed.encode_face(enrolled_photo, enrolled_record).vector
            if saved is None:
                cloak = find_cloak(photo, record, enrolled, budget=budget, grid=grid, max_queries=max_queries,
                                   seed=seed + person)
                entry, seconds = cloak.record, cloak.seconds
            else:
                entry, seconds = saved[person], float("nan")
            entries.append(dict(entry))
            cloaked_record = cloaked_provenance(record, entry)
            cloaked = apply_cloak(photo, entry)
            noise_entry = {**entry, "signs": encode_signs(_starting_signs(entry["seed"], entry["grid"])), "queries": 1}
            noise_face, _ = _find_face(apply_cloak(photo, noise_entry), cloaked_provenance(record, noise_entry))
            noise_distance = math.inf if noise_face is None else float(np.linalg.norm(noise_face.vector - enrolled))
            results.append(_judge(photo, record, cloaked, cloaked_record, enrolled, seconds, noise_distance))
    return CloakStudy(results, threshold, int(entries[0]["budget"]), entries)


def _judge(photo, record, cloaked, cloaked_record, enrolled, seconds, noise_distance) -> PersonResult:
    """Distances of the clean and the cloaked photo to the enrolled embedding, plain and preprocessed."""
    from . import embed

    distances, found_by = {}, {}
    for name, image, rec in (("clean", photo, record), ("cloaked", cloaked, cloaked_record)):
        face, found_by[name] = _find_face(image, rec)
        if face is None:  # no detector finds a face: nothing to match
            distances[name] = [math.inf] * 3
            continue
        chip = embed.aligned_chip(image, face.box, rec)
        distances[name] = [float(np.linalg.norm(v - enrolled))
                           for v in (face.vector, chip_vector(blurred(chip)), chip_vector(jpeg(chip)))]
    change = cloaked.astype(np.int16) - photo
    return PersonResult(
        identity_seed=int(record["identity_seed"]), detector=found_by["cloaked"],
        before=distances["clean"][0], after=distances["cloaked"][0], random_pattern=noise_distance,
        after_blur=distances["cloaked"][1], after_jpeg=distances["cloaked"][2], clean_blur=distances["clean"][1],
        ssim=ssim(photo, cloaked), linf=int(np.abs(change).max()), l2=float(np.linalg.norm(change)),
        queries=int(cloaked_record["cloak"]["queries"]), seconds=seconds)


def _find_face(image: np.ndarray, record: dict):
    """The face as HOG finds it; if HOG finds none, as the CNN detector finds it; else (None, "none")."""
    from . import embed
    from .errors import NoFaceError

    for detector in embed.DETECTORS:
        try:
            return embed.encode_face(image, record, model=detector), detector
        except NoFaceError:
            continue
    return None, "none"


#: The cloaks the lesson rebuilds (made by scripts/benchmark_defences.py; see the file's "made_by").
SAVED_CLOAKS = Path(__file__).with_name("cloaks.json")


def save_cloaks(study: CloakStudy, path: Path, *, made_by: str, seed: int, size: int) -> None:
    """Write a study's cloak entries as JSON, with how to make them again and where the faces came from."""
    payload = {"made_by": made_by, "faces": f"course.faces.synthetic_faces({len(study.cloaks)}, 2, seed={seed}, "
               f"size={size}): photo 2i is cloaked, photo 2i+1 is enrolled (synthetic people, no real faces)",
               "seed": seed, "size": size, "threshold": study.threshold, "cloaks": study.cloaks}
    Path(path).write_text(json.dumps(payload, indent=1) + "\n")


def load_cloaks(path: Path = SAVED_CLOAKS) -> dict:
    """The saved cloaks (``cloaks``, ``seed``, ``size``, ``made_by``) to pass to :func:`cloak_study` as ``saved``."""
    return json.loads(Path(path).read_text())
