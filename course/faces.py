"""Procedural synthetic people that dlib's face detector and recogniser accept.

The course only uses synthetic or consented faces; this module is its main source of
synthetic ones. Everything is drawn with numpy/scipy/Pillow from a handful of numbers:
no downloaded weights, no photographs.

How a face is made (a "2.5D" renderer)
--------------------------------------
1. An *identity vector* (``identity_parameters``; names in ``IDENTITY_PARAMETER_NAMES``)
   holds the person's lasting traits: face and jaw shape, eyes, brows, nose, lips, skin,
   hair, facial hair, age. Every element lies in [0, 1]; ``render_face`` clips, so any
   vector in that box is a valid person (a regressor's prediction included). Seeds are
   turned into vectors through a small identity space fitted offline against dlib's
   embedding (``course/identity_space.npz``, written by
   ``scripts/optimise_identity_space.py``) so that people come out well spread apart.
2. From it a frontal face is painted in a canonical frame: an albedo (colour) map and a
   height map (head dome plus nose, brow ridge, cheekbones, lips, eye sockets).
3. A *view* (``render_face``'s ``view_seed``) draws the nuisance: yaw, pitch, roll,
   light direction and colour, expression, glasses, background, scale/offset, blur,
   sensor noise and JPEG quality. The height map is shaded under that light, then the
   canonical image is warped to the screen by rotating each surface point
   (x, y, height) with the head pose (an orthographic camera), composited over the
   background and passed through the "camera".

Seeds
-----
``synthetic_faces(n_identities, per_identity, seed=s)`` derives every seed from ``s``
with numpy's ``SeedSequence``: identity ``i`` gets
``SeedSequence(s, spawn_key=(0, i)).generate_state(1)[0]`` and its ``j``-th image gets
``SeedSequence(s, spawn_key=(1, i, j)).generate_state(1)[0]`` (both 32-bit ints, kept in
each image's provenance). ``identity_parameters(identity_seed)`` and
``render_face(..., view_seed=...)`` each seed one ``numpy.random.default_rng``, so the
same seeds give the same image bit for bit, and identity ``i`` is the same person
whatever ``n_identities`` or ``per_identity`` are.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

GENERATOR_VERSION = "faces-1.0"

#: Names of the identity vector's elements, in order. Every element is in [0, 1];
#: 0 and 1 are the two extremes described in the comment.
IDENTITY_PARAMETER_NAMES: tuple[str, ...] = (
    "face_width",  # narrow .. broad face
    "face_length",  # short .. long face
    "jaw_width",  # tapering .. wide jaw
    "jaw_squareness",  # round .. square jaw line
    "chin_length",  # short .. long chin
    "forehead_height",  # low .. high hairline
    "eye_height",  # eyes set high .. low in the face
    "eye_spacing",  # close-set .. wide-set eyes
    "eye_width",  # small .. large eyes
    "eye_openness",  # hooded .. wide-open eyes
    "eye_tilt",  # down-turned .. up-turned outer corners
    "eye_fold",  # marked double eyelid crease .. monolid
    "eye_makeup",  # none .. heavy eyeliner and lid shadow
    "iris_darkness",  # light (blue/green) .. dark brown irises
    "iris_hue",  # blue .. green/hazel (for light irises)
    "brow_thickness",  # thin .. bushy eyebrows
    "brow_arch",  # straight .. arched eyebrows
    "brow_height",  # brows close to .. far from the eyes
    "brow_tilt",  # brows slanting down .. up towards the temples
    "nose_length",  # short .. long nose
    "nose_width",  # narrow .. wide nostrils
    "nose_prominence",  # flat .. prominent nose bridge
    "mouth_width",  # narrow .. wide mouth
    "upper_lip",  # thin .. full upper lip
    "lower_lip",  # thin .. full lower lip
    "lip_redness",  # pale .. red lips
    "cheekbones",  # flat .. high, prominent cheekbones
    "fullness",  # lean .. full, round cheeks and jowls
    "skin_lightness",  # deep brown .. very light skin
    "skin_warmth",  # pink/red .. olive/yellow undertone
    "skin_texture",  # smooth .. freckled/blemished skin
    "skin_phase",  # which mottling pattern (continuous blend of two)
    "hair_darkness",  # blond/grey .. black hair
    "hair_redness",  # ash .. red/auburn hair
    "hair_volume",  # close-cropped .. voluminous hair
    "hair_length",  # short .. shoulder-length hair
    "hair_coverage",  # bald .. full head of hair
    "fringe",  # forehead bare .. covered by a fringe
    "beard",  # clean-shaven .. full beard
    "moustache",  # none .. full moustache
    "age",  # young .. old (wrinkles, folds, greying)
    "ear_size",  # small .. large ears
    "asymmetry",  # symmetric .. slightly lopsided features
)
N_IDENTITY_PARAMETERS = len(IDENTITY_PARAMETER_NAMES)


@dataclass(frozen=True)
class SyntheticFaces:
    """A batch of synthetic face images with their identities and provenance."""

    images: np.ndarray  # uint8, N x size x size x 3, RGB
    identities: np.ndarray  # N ints in 0..n_identities-1
    provenance: list[dict]  # one record per image (seeds, generator, nuisance drawn)


# ----------------------------------------------------------------------------- seeds


def _child_seed(seed: int, *key: int) -> int:
    """A 32-bit seed derived from ``seed`` and a spawn key (see module docstring)."""
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


@lru_cache(maxsize=1)
def _identity_space():
    """Directions, scales, gain and residual fitted by scripts/optimise_identity_space.py."""
    with np.load(Path(__file__).with_name("identity_space.npz")) as f:
        if tuple(f["parameter_names"]) != IDENTITY_PARAMETER_NAMES:
            raise RuntimeError("identity_space.npz is stale: re-run scripts/optimise_identity_space.py")
        return f["directions"].astype(np.float64), f["scales"].astype(np.float64), float(f["gain"]), float(f["residual"])


def identity_parameters(identity_seed: int) -> np.ndarray:
    """The identity vector (float64, in [0, 1], see IDENTITY_PARAMETER_NAMES) of a seed.

    A person is drawn in the identity space fitted offline (course/identity_space.npz):
    each of k directions in parameter space along which dlib's embedding moves most,
    compared with pose/light/expression, gets a coordinate of random sign and magnitude
    in [0.4, 1] (so two people tend to differ clearly along each); a smaller independent
    uniform term varies every parameter; the sum is clipped to [0, 1]."""
    rng = np.random.default_rng(identity_seed)
    directions, scales, gain, residual = _identity_space()
    k = len(scales)
    z = rng.choice([-1.0, 1.0], k) * rng.uniform(0.4, 1.0, k)
    vec = 0.5 + (z * scales * gain) @ directions + residual * rng.uniform(-0.5, 0.5, N_IDENTITY_PARAMETERS)
    return np.clip(vec, 0.0, 1.0)


# ----------------------------------------------------------------------------- helpers


def _lerp(a, b, t):
    return a + (b - a) * t


def _smoothstep(e0, e1, v):
    t = np.clip((v - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _blend(dst, colour, alpha):
    """Paint ``colour`` (RGB or HxWx3) over ``dst`` (HxWx3) with coverage ``alpha`` (HxW)."""
    a = alpha[..., None]
    dst *= 1.0 - a
    dst += a * colour


# Canonical frame: x to the right, y downwards, in "face half-widths"; the image spans
# x in [-2.2, 2.2] and y in [-2.0, 2.4] so the face fills a little under half the frame.
_X_RANGE = (-2.2, 2.2)
_Y_RANGE = (-2.0, 2.4)


@lru_cache(maxsize=4)
def _grid(size: int):
    """Canonical x and y coordinates of the pixel columns and rows."""
    xs = np.linspace(*_X_RANGE, size)
    ys = np.linspace(*_Y_RANGE, size)
    return xs, ys


@lru_cache(maxsize=4)
def _noise_fields(size: int):
    """Fixed (seeded) noise textures shared by all identities, cached per size."""
    rng = np.random.default_rng(20240601)
    fields = {}
    for name, sigma in (("mottle_a", 6.0), ("mottle_b", 6.0), ("fine", 0.7), ("pores", 1.2)):
        f = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma * size / 256)
        fields[name] = (f / f.std()).astype(np.float64)
    strands = ndimage.gaussian_filter(rng.standard_normal((size, size)), (6.0 * size / 256, 0.6 * size / 256))
    fields["strands"] = strands / strands.std()
    return fields


def _rotation(yaw, pitch, roll):
    """Rotation (degrees) for x right, y down, z towards the camera."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


# ----------------------------------------------------------------------------- painting


class _Canvas:
    """The canonical frontal frame being painted: albedo, height and coverage maps.

    Features are painted inside small windows (``window``) to keep rendering fast."""

    def __init__(self, size: int):
        self.xs, self.ys = _grid(size)
        self.X, self.Y = np.meshgrid(self.xs, self.ys)
        self.albedo = np.zeros((size, size, 3))
        self.height = np.zeros((size, size))
        self.alpha = np.zeros((size, size))
        self.skin = np.zeros((size, size))  # coverage of the face itself (for exposure)

    def window(self, x0, x1, y0, y1):
        """Index (rows, cols) of the canonical rectangle [x0, x1] x [y0, y1]."""
        c0, c1 = np.searchsorted(self.xs, [x0, x1])
        r0, r1 = np.searchsorted(self.ys, [y0, y1])
        return slice(r0, r1), slice(c0, c1)

    def bump(self, cx, cy, sx, sy, amp):
        """Add a Gaussian bump (negative ``amp``: a dent) to the height map."""
        w = self.window(cx - 3 * sx, cx + 3 * sx, cy - 3 * sy, cy + 3 * sy)
        self.height[w] += amp * _gauss(self.X[w], self.Y[w], cx, cy, sx, sy)


def _gauss(X, Y, cx, cy, sx, sy):
    return np.exp(-0.5 * (((X - cx) / sx) ** 2 + ((Y - cy) / sy) ** 2))


def _paint_face(p: dict, nz: dict, size: int) -> _Canvas:
    """Paint the canonical frontal face of identity ``p`` with expression/glasses from ``nz``."""
    cv = _Canvas(size)
    X, Y = cv.X, cv.Y
    noise = _noise_fields(size)
    smile, mouth_open, brow_raise = nz["smile"], nz["mouth_open"], nz["brow_raise"]

    # --- proportions (canonical units: half the face width at the cheekbones is ~1)
    fw = _lerp(0.84, 1.06, p["face_width"])
    fl = _lerp(0.96, 1.16, p["face_length"]) * _lerp(0.97, 1.03, p["face_width"])
    chin_y = 1.22 * fl + _lerp(-0.08, 0.12, p["chin_length"])
    top_y = -1.55 * fl
    jaw_w = _lerp(0.60, 0.95, p["jaw_width"])
    jaw_n = _lerp(2.0, 3.8, p["jaw_squareness"])
    eye_y = _lerp(-0.30, -0.06, p["eye_height"])
    eye_dx = _lerp(0.37, 0.51, p["eye_spacing"]) * fw
    eye_w = min(_lerp(0.19, 0.26, p["eye_width"]), eye_dx / 1.6)
    eye_h = _lerp(0.075, 0.13, p["eye_openness"]) * (1 - 0.25 * smile)
    nose_y = eye_y + _lerp(0.36, 0.50, p["nose_length"]) * fl
    nose_w = _lerp(0.16, 0.31, p["nose_width"])
    nose_h = _lerp(0.10, 0.36, p["nose_prominence"])
    mouth_y = nose_y + _lerp(0.28, 0.36, p["chin_length"]) * fl
    mouth_w = _lerp(0.50, 0.76, p["mouth_width"]) * (1 + 0.12 * smile)
    brow_y = eye_y - _lerp(0.15, 0.26, p["brow_height"]) - 0.05 * brow_raise
    asym = _lerp(0.0, 0.05, p["asymmetry"])

    # --- head outline: skull ellipse above y=0, jaw superellipse below
    yu = np.clip(Y / top_y, 0, 1)
    yl = np.clip(Y / chin_y, 0, 1)
    w_top = fw * np.sqrt(np.clip(1 - yu**2.2, 0, 1))
    full = p["fullness"]
    w_bot = fw * (1 - (1 - jaw_w) * (1 - 0.4 * full) * yl**2) * np.clip(1 - yl**jaw_n, 0, 1) ** (1 / jaw_n)
    w = np.where(Y < 0, w_top, w_bot) * ((Y > top_y) & (Y < chin_y))
    face_a = _smoothstep(-0.015, 0.015, w - np.abs(X)) * (w > 0)
    u = np.clip(np.abs(X) / np.maximum(w, 1e-3), 0, 1)
    v = np.where(Y < 0, yu, yl)
    dome = 0.95 * np.sqrt(np.clip(1 - u**2, 0, 1)) * np.sqrt(np.clip(1 - 0.6 * v**2.5, 0, 1))

    # --- skin colour and texture
    light = p["skin_lightness"]
    skin = np.array([_lerp(0.34, 0.96, light), _lerp(0.20, 0.78, light), _lerp(0.13, 0.68, light)])
    warm = p["skin_warmth"] - 0.5
    skin = skin * np.array([1 + 0.05 * warm, 1 + 0.07 * warm, 1 - 0.12 * warm])
    phase = 2 * np.pi * p["skin_phase"]
    mottle = np.cos(phase) * noise["mottle_a"] + np.sin(phase) * noise["mottle_b"]
    tex = 1 + 0.02 * mottle + (0.004 + 0.015 * p["skin_texture"]) * noise["pores"]
    freckles = np.clip(noise["fine"] - 2.0, 0, None) * p["skin_texture"] ** 2 * 0.25
    skin_map = skin * tex[..., None] * (1 - freckles[..., None] * np.array([0.3, 0.45, 0.55]))

    # --- neck and clothes behind the head
    neck_w = 0.62 * fw + 0.25 * np.clip(Y - 1.5, 0, None) ** 2
    neck_a = _smoothstep(-0.03, 0.03, neck_w - np.abs(X)) * (Y > 0.3)
    under_chin = _smoothstep(chin_y + 0.35, chin_y - 0.05, Y)
    cv.albedo[:] = skin_map * (0.85 - 0.35 * under_chin)[..., None]
    cv.alpha[:] = neck_a
    cv.height[:] = neck_a * 0.35 * np.sqrt(np.clip(1 - (X / neck_w) ** 2, 0, 1))
    clothes = _smoothstep(-0.02, 0.02, Y - 1.8 - 0.25 * (np.abs(X) / 1.8) ** 2)
    _blend(cv.albedo, np.array(nz["clothes"]), clothes)
    cv.alpha = np.maximum(cv.alpha, clothes)
    cv.height = np.where(clothes > 0.5, 0.1, cv.height)

    # --- ears, then the face over them
    ear_s = _lerp(0.8, 1.25, p["ear_size"])
    for s in (-1, 1):
        ex, ey = s * (fw * 0.98 + 0.04), eye_y + 0.2
        d = ((X - ex) / (0.10 * ear_s)) ** 2 + ((Y - ey) / (0.22 * ear_s)) ** 2
        ear = _smoothstep(1.05, 0.9, d)
        _blend(cv.albedo, skin * 0.88, ear)
        cv.height += ear * 0.15
        cv.alpha = np.maximum(cv.alpha, ear)
    _blend(cv.albedo, skin_map * (1 - 0.3 * u**4)[..., None], face_a)  # cheeks turning away
    cv.height = cv.height * (1 - face_a) + dome * face_a
    cv.alpha = np.maximum(cv.alpha, face_a)
    cv.skin = face_a
    for s in (-1, 1):  # cheek colour
        wb = cv.window(s * 0.5 * fw - 0.5, s * 0.5 * fw + 0.5, eye_y - 0.1, eye_y + 0.8)
        blush = (0.06 + 0.12 * (1 - light)) * _gauss(X[wb], Y[wb], s * 0.5 * fw, eye_y + 0.35, 0.17, 0.12)
        cv.albedo[wb] *= 1 - blush[..., None] * np.array([0.0, 0.35, 0.3])

    # --- relief: eye sockets, brow ridge, cheekbones, nose, lips, chin
    for s in (-1, 1):
        cv.bump(s * eye_dx, eye_y, 0.17, 0.10, -0.10)
        cv.bump(s * eye_dx, brow_y + 0.02, 0.22, 0.06, 0.05)
        cv.bump(s * 0.55 * fw, eye_y + 0.25, 0.18, 0.12, _lerp(0.0, 0.12, p["cheekbones"]))
        cv.bump(s * 0.6 * fw, mouth_y - 0.1, 0.25, 0.25, _lerp(-0.06, 0.10, full))
    wn = cv.window(-0.4, 0.4, eye_y - 0.1, nose_y + 0.15)
    t = np.clip((Y[wn] - eye_y) / (nose_y - eye_y), 0, 1.15)
    ridge_sx = _lerp(0.06, 0.10, p["nose_width"]) + 0.05 * t
    ridge = np.exp(-0.5 * (X[wn] / ridge_sx) ** 2) * _smoothstep(1.15, 1.0, t) * (Y[wn] > eye_y - 0.05)
    cv.height[wn] += nose_h * t**0.8 * ridge
    cv.bump(0, nose_y - 0.03, 0.09, 0.07, 0.06 + 0.3 * nose_h)
    for s in (-1, 1):
        cv.bump(s * nose_w * 0.75, nose_y, 0.08, 0.06, 0.06)
    cv.bump(0, mouth_y - 0.04, mouth_w * 0.45, 0.06, 0.05)
    cv.bump(0, mouth_y + 0.06, mouth_w * 0.4, 0.06, 0.05)
    cv.bump(0, mouth_y + 0.17, mouth_w * 0.35, 0.04, -0.03)
    cv.bump(0, chin_y - 0.16, 0.2, 0.11, 0.06)

    hair_col = _hair_colour(p)
    _paint_eyes(cv, p, skin, eye_dx, eye_y, eye_w, eye_h, asym)
    _paint_brows(cv, p, noise, np.minimum(hair_col * 0.75, skin * 0.45), eye_dx, brow_y)
    _paint_nose_and_mouth(cv, p, skin, nose_y, nose_w, mouth_y, mouth_w, smile, mouth_open)
    _paint_age_and_facial_hair(cv, p, skin, noise, face_a, hair_col, fw, brow_y, nose_y, nose_w, mouth_y, mouth_w, smile)
    _paint_hair(cv, p, noise, face_a, hair_col, fw, top_y, brow_y, eye_y)
    if nz["glasses"]:
        _paint_glasses(cv, eye_dx, eye_y, eye_w)
    np.clip(cv.albedo, 0, 1, out=cv.albedo)
    return cv


def _paint_eyes(cv, p, skin, eye_dx, eye_y, eye_w, eye_h, asym):
    iris_light = _lerp(np.array([0.30, 0.45, 0.62]), np.array([0.40, 0.48, 0.25]), p["iris_hue"])
    iris_col = _lerp(iris_light, np.array([0.20, 0.11, 0.05]), p["iris_darkness"])
    tilt = _lerp(-0.10, 0.12, p["eye_tilt"])
    liner = p["eye_makeup"]
    fold = p["eye_fold"]
    for s in (-1, 1):
        ex = s * eye_dx + (asym if s > 0 else 0)
        ey = eye_y + (asym * 0.5 if s > 0 else 0)
        w = cv.window(ex - 1.5 * eye_w, ex + 1.5 * eye_w, ey - 0.3, ey + 0.2)
        X, Y, alb = cv.X[w], cv.Y[w], cv.albedo[w]
        lx = s * (X - ex) / eye_w  # -1 inner corner .. +1 outer corner
        ly = (Y - ey + tilt * eye_w * lx) / eye_w
        up = -(eye_h / eye_w) * np.clip(1 - lx**2, 0, 1) ** 0.7 * (1 + 0.15 * lx)
        lo = 0.55 * (eye_h / eye_w) * np.clip(1 - lx**2, 0, 1) ** 0.8
        inside = _smoothstep(-0.03, 0.03, np.minimum(ly - up, lo - ly)) * (np.abs(lx) < 1)
        _blend(alb, np.array([0.86, 0.84, 0.80]), inside)
        r = np.hypot(lx, ly + 0.05)
        _blend(alb, iris_col * 0.6, inside * _smoothstep(0.58, 0.53, r))
        _blend(alb, iris_col, inside * _smoothstep(0.52, 0.42, r))
        _blend(alb, np.array([0.03, 0.03, 0.03]), inside * _smoothstep(0.22, 0.17, r))
        lash_w = 0.16 + 0.12 * liner
        lash = _smoothstep(lash_w, 0.0, np.abs(ly - up + 0.02)) * _smoothstep(1.1 + 0.2 * liner, 0.7, np.abs(lx))
        _blend(alb, np.array([0.06, 0.05, 0.05]), (0.85 + 0.1 * liner) * lash * (ly <= up + 0.06))
        low = _smoothstep(0.08, 0.0, np.abs(ly - lo)) * (np.abs(lx) < 1.0)
        _blend(alb, skin * 0.55, (0.45 + 0.3 * liner) * low)
        # upper lid crease: high and marked (double lid) .. absent (monolid)
        crease_y = up - _lerp(0.45, 0.15, fold)
        crease = _smoothstep(0.08, 0.0, np.abs(ly - crease_y)) * (np.abs(lx) < 0.9)
        _blend(alb, skin * 0.7, 0.45 * (1 - fold) * crease)
        lid = _smoothstep(crease_y - 0.05, crease_y + 0.05, ly) * (ly < up) * (np.abs(lx) < 1.0)
        _blend(alb, skin * _lerp(0.75, 0.5, liner), lid * (0.25 + 0.45 * liner))
        socket = _gauss(X, Y, ex, ey - 0.03, 0.24, 0.14)
        alb *= 1 - 0.28 * (socket * (1 - inside))[..., None]


def _paint_brows(cv, p, noise, colour, eye_dx, brow_y):
    arch = _lerp(0.0, 0.10, p["brow_arch"])
    tilt = _lerp(-0.06, 0.06, p["brow_tilt"])
    thick = _lerp(0.035, 0.085, p["brow_thickness"])
    for s in (-1, 1):
        bx = s * (eye_dx - 0.05)
        w = cv.window(bx - 0.4, bx + 0.4, brow_y - 0.25, brow_y + 0.15)
        X, Y = cv.X[w], cv.Y[w]
        lx = s * (X - bx) / 0.26  # -1 inner .. +1 outer end
        centre = brow_y - arch * (1 - (lx - 0.2) ** 2) - tilt * lx
        th = thick * (1 - 0.45 * np.clip(lx, 0, 1))
        a = _smoothstep(th + 0.02, th - 0.015, np.abs(Y - centre)) * _smoothstep(1.15, 0.95, np.abs(lx - 0.1))
        a *= np.clip(0.85 + 0.2 * noise["fine"][w], 0, 1)
        _blend(cv.albedo[w], colour, a * _lerp(0.75, 0.97, p["brow_thickness"]))


def _paint_nose_and_mouth(cv, p, skin, nose_y, nose_w, mouth_y, mouth_w, smile, mouth_open):
    for s in (-1, 1):  # nostrils and the shadow line of the wings
        w = cv.window(s * nose_w - 0.3, s * nose_w + 0.3, nose_y - 0.25, nose_y + 0.2)
        X, Y = cv.X[w], cv.Y[w]
        _blend(cv.albedo[w], skin * 0.25, 0.85 * _gauss(X, Y, s * nose_w * 0.45, nose_y + 0.05, 0.06, 0.028))
        _blend(cv.albedo[w], skin * 0.6, 0.5 * _gauss(X, Y, s * nose_w, nose_y + 0.01, 0.03, 0.07))
    w = cv.window(-mouth_w, mouth_w, mouth_y - 0.3, mouth_y + 0.3)
    X, Y = cv.X[w], cv.Y[w]
    redness = p["lip_redness"]
    lip_col = skin * np.array([0.9, 0.68, 0.68]) * _lerp(0.95, 0.8, redness) + np.array([0.06, 0, 0.01]) * redness
    mx = X / (mouth_w / 2)
    yy = Y - mouth_y + 0.05 * smile * mx**2
    gap = 0.005 + 0.05 * mouth_open
    env = np.clip(1 - mx**2, 0, 1) ** 0.5
    bow = 1 + 0.25 * np.cos(np.pi * mx * 2.2) * (np.abs(mx) < 0.45)
    up_t = _lerp(0.035, 0.075, p["upper_lip"])
    lo_t = _lerp(0.05, 0.10, p["lower_lip"])
    upper = _smoothstep(0.01, -0.01, np.abs(yy + gap / 2 + up_t * env * bow / 2) - up_t * env * bow / 2)
    lower = _smoothstep(0.01, -0.01, np.abs(yy - gap / 2 - lo_t * env / 2) - lo_t * env / 2)
    lips = np.maximum(upper, lower)
    _blend(cv.albedo[w], lip_col, lips)
    line = _smoothstep(gap / 2 + 0.015, gap / 2, np.abs(yy)) * _smoothstep(1.1, 0.95, np.abs(mx))
    _blend(cv.albedo[w], np.array([0.12, 0.05, 0.05]), line * 0.95)
    cv.height[w] += lips * 0.02


def _paint_age_and_facial_hair(cv, p, skin, noise, face_a, hair_col, fw, brow_y, nose_y, nose_w, mouth_y, mouth_w, smile):
    X, Y = cv.X, cv.Y
    age = p["age"]
    for s in (-1, 1):  # nasolabial folds
        w = cv.window(s * 0.5 - 0.45, s * 0.5 + 0.45, nose_y - 0.1, mouth_y + 0.15)
        Xw, Yw = X[w], Y[w]
        fold_x = s * (nose_w + 0.05 + 0.25 * np.clip((Yw - nose_y) / (mouth_y - nose_y + 0.1), 0, 1.3))
        fold = _smoothstep(0.035, 0.0, np.abs(Xw - fold_x)) * (Yw > nose_y - 0.05) * (Yw < mouth_y + 0.08)
        _blend(cv.albedo[w], skin * 0.7, fold * (0.15 + 0.45 * age + 0.2 * smile))
    if age > 0.4:  # forehead lines
        w = cv.window(-fw, fw, brow_y - 0.5, brow_y - 0.1)
        for k in range(3):
            fy = brow_y - 0.17 - 0.09 * k + 0.03 * (X[w] / fw) ** 2
            line = _smoothstep(0.012, 0.0, np.abs(Y[w] - fy)) * (np.abs(X[w]) < 0.5 * fw)
            _blend(cv.albedo[w], skin * 0.8, line * 0.5 * (age - 0.4) * face_a[w])
    colour = _lerp(hair_col, np.array([0.60, 0.58, 0.56]), 0.5 * age)
    if p["beard"] > 0.25:
        dens = (p["beard"] - 0.25) / 0.75
        ax = np.abs(X) / fw
        cheek_line = nose_y + 0.02 + 0.35 * ax**2 - 0.15 * ax
        a = face_a * _smoothstep(cheek_line, cheek_line + 0.12, Y)
        mw = cv.window(-mouth_w, mouth_w, mouth_y - 0.25, mouth_y + 0.25)
        a[mw] *= 1 - _smoothstep(mouth_w * 0.5, mouth_w * 0.4, np.abs(X[mw])) * _smoothstep(0.13, 0.08, np.abs(Y[mw] - mouth_y - 0.02))
        a *= np.clip(0.9 + 0.1 * noise["mottle_a"] + 0.06 * noise["fine"], 0, 1)
        _blend(cv.albedo, colour, a * _lerp(0.35, 0.85, dens))
        cv.height += a * 0.03 * dens
    if p["moustache"] > 0.3:
        dens = (p["moustache"] - 0.3) / 0.7
        w = cv.window(-mouth_w, mouth_w, mouth_y - 0.2, mouth_y)
        a = _smoothstep(0.05, 0.0, np.abs(Y[w] - (mouth_y - 0.11))) * _smoothstep(mouth_w * 0.6, mouth_w * 0.45, np.abs(X[w]))
        a *= np.clip(0.85 + 0.15 * noise["fine"][w], 0, 1)
        _blend(cv.albedo[w], colour, a * _lerp(0.4, 0.95, dens))


def _paint_hair(cv, p, noise, face_a, hair_col, fw, top_y, brow_y, eye_y):
    X, Y = cv.X, cv.Y
    cov = p["hair_coverage"]
    vol = _lerp(0.03, 0.30, p["hair_volume"]) * cov
    hairline = top_y * _lerp(0.40, 0.66, p["forehead_height"])
    recess = _lerp(0.0, 0.35, 1 - cov)
    skull_cy = -0.2
    d = (X / (fw + vol)) ** 2 + ((Y - skull_cy) / (-top_y + skull_cy + vol)) ** 2
    bottom = _lerp(eye_y + 0.1, 1.6, p["hair_length"])
    sides = _smoothstep(0.02, -0.02, np.abs(X) - (fw + vol)) * (Y >= skull_cy) * _smoothstep(bottom + 0.05, bottom - 0.05, Y)
    outer = np.clip(_smoothstep(1.03, 0.97, d) * (Y < skull_cy) + sides, 0, 1) * (1 - face_a * (Y > hairline))
    front = face_a * _smoothstep(hairline + 0.03, hairline - 0.03, Y - recess * (X / fw) ** 2)
    if p["fringe"] > 0.5:
        fringe_y = hairline + (p["fringe"] - 0.5) * 2 * (brow_y - 0.15 - hairline)
        front = np.maximum(front, face_a * _smoothstep(fringe_y + 0.02, fringe_y - 0.04, Y + 0.04 * np.cos(X * 14)))
    a = np.clip(np.maximum(outer, front), 0, 1) * _smoothstep(0.05, 0.35, cov)
    _blend(cv.albedo, np.clip(hair_col * (1 + 0.07 * noise["strands"])[..., None], 0, 1), a)
    cv.height = cv.height * (1 - a) + a * (np.maximum(cv.height, 0.2) + vol * 0.3)
    cv.alpha = np.maximum(cv.alpha, a)


def _paint_glasses(cv, eye_dx, eye_y, eye_w):
    frame = np.array([0.08, 0.07, 0.07])
    for s in (-1, 1):
        ex = s * eye_dx
        w = cv.window(ex - 1.5 * eye_w, ex + 1.5 * eye_w, eye_y - 1.2 * eye_w, eye_y + 1.2 * eye_w)
        d = np.hypot((cv.X[w] - ex) / (eye_w * 1.35), (cv.Y[w] - eye_y - 0.01) / eye_w)
        _blend(cv.albedo[w], frame, 0.9 * _smoothstep(0.08, 0.0, np.abs(d - 1.0)))
    w = cv.window(-eye_dx, eye_dx, eye_y - 0.1, eye_y)
    bridge = _smoothstep(0.015, 0.0, np.abs(cv.Y[w] - eye_y + 0.05)) * (np.abs(cv.X[w]) < eye_dx - eye_w * 1.3)
    _blend(cv.albedo[w], frame, 0.9 * bridge)


def _hair_colour(p):
    d, r, age = p["hair_darkness"], p["hair_redness"], p["age"]
    base = _lerp(np.array([0.80, 0.66, 0.45]), np.array([0.06, 0.045, 0.035]), d**0.7)
    red = np.array([0.55, 0.22, 0.10]) * _lerp(1.0, 0.3, d)
    col = _lerp(base, red, 0.6 * r * (1 - 0.5 * d))
    grey = np.clip((age - 0.6) / 0.4, 0, 1)
    return _lerp(col, np.array([0.62, 0.61, 0.60]), grey * 0.7)


# ----------------------------------------------------------------------------- view


def _draw_nuisance(rng: np.random.Generator, max_yaw: float) -> dict:
    """Draw the view's nuisance values (pose, light, expression, camera...)."""
    return {
        "yaw": float(rng.uniform(-max_yaw, max_yaw)),
        "pitch": float(rng.uniform(-8.0, 8.0)),
        "roll": float(rng.uniform(-5.0, 5.0)),
        "light_azimuth": float(rng.uniform(-35.0, 35.0)),
        "light_elevation": float(rng.uniform(10.0, 40.0)),
        "light_warmth": float(rng.uniform(-1.0, 1.0)),
        "ambient": float(rng.uniform(0.35, 0.55)),
        "exposure": float(rng.uniform(0.9, 1.1)),
        "smile": float(rng.uniform(0.0, 1.0) ** 2),
        "mouth_open": float(rng.uniform(0.0, 1.0) ** 3),
        "brow_raise": float(rng.uniform(-0.5, 1.0)),
        "glasses": bool(rng.uniform() < 0.1),
        "background": [float(c) for c in rng.uniform(0.15, 0.85, 3)],
        "background_gradient": float(rng.uniform(-0.25, 0.25)),
        "clothes": [float(c) for c in rng.uniform(0.05, 0.8, 3)],
        "scale": float(rng.uniform(0.95, 1.05)),
        "shift_x": float(rng.uniform(-0.06, 0.06)),
        "shift_y": float(rng.uniform(-0.06, 0.06)),
        "blur": float(rng.uniform(0.0, 0.8)),
        "noise": float(rng.uniform(1.0, 4.0)),
        "jpeg_quality": int(rng.integers(70, 96)),
        "noise_seed": int(rng.integers(0, 2**31)),
    }


def render_face(identity: np.ndarray, *, view_seed: int, size: int = 256, max_yaw: float = 15) -> tuple[np.ndarray, dict]:
    """Render one photo of the person ``identity`` (any vector in [0, 1]^n) from a view seed.

    The identity fixes who is shown; ``view_seed`` draws everything else (pose within
    +-max_yaw degrees of yaw and +-8 of pitch, light, expression, glasses, background,
    camera). Returns the image (uint8, size x size x 3, RGB) and the nuisance values drawn,
    which ``synthetic_faces`` copies into each image's provenance."""
    vec = np.clip(np.asarray(identity, dtype=np.float64), 0.0, 1.0)
    if vec.shape != (N_IDENTITY_PARAMETERS,):
        raise ValueError(f"identity must have {N_IDENTITY_PARAMETERS} elements, got shape {vec.shape}")
    p = dict(zip(IDENTITY_PARAMETER_NAMES, vec))
    rng = np.random.default_rng(view_seed)
    nz = _draw_nuisance(rng, max_yaw)

    cv = _paint_face(p, nz, size)
    alb, H, alpha = cv.albedo, cv.height, cv.alpha
    R = _rotation(nz["yaw"], nz["pitch"], nz["roll"])

    # shading in canonical space with normals rotated into the camera frame
    step = (_X_RANGE[1] - _X_RANGE[0]) / (size - 1)
    Hs = ndimage.gaussian_filter(H, 1.0 * size / 256)
    gy, gx = np.gradient(Hs, step)
    n = np.stack([-gx, -gy, np.ones_like(H)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n = n @ R.T
    az, el = np.radians([nz["light_azimuth"], nz["light_elevation"]])
    L = np.array([np.sin(az) * np.cos(el), -np.sin(el), np.cos(az) * np.cos(el)])
    ndl = n @ L
    diffuse = np.clip((ndl + 0.3) / 1.3, 0, 1)
    sky = 0.5 + 0.5 * (-n[..., 1])
    warm = nz["light_warmth"]
    key_col = np.array([1 + 0.08 * warm, 1.0, 1 - 0.12 * warm])
    amb = nz["ambient"]
    shade = (1 - amb) * diffuse[..., None] * key_col + amb * (0.6 + 0.4 * sky)[..., None]
    half = (L + np.array([0, 0, 1.0])) / np.linalg.norm(L + np.array([0, 0, 1.0]))
    spec = 0.12 * np.clip(n @ half, 0, 1) ** 20
    col = alb * shade + spec[..., None]

    # warp canonical -> screen: find the canonical (x, y) whose rotated surface point
    # lands on each screen pixel (fixed-point iterations on the height map)
    xs, ys = _grid(size)
    U, V = np.meshgrid(xs, ys)
    U = (U - nz["shift_x"]) / nz["scale"]
    V = (V - nz["shift_y"]) / nz["scale"]
    A = R[:2, :2]
    Ainv = np.linalg.inv(A)
    cx, cy = U.copy(), V.copy()
    for _ in range(3):
        z = ndimage.map_coordinates(H, _to_index(cx, cy, size), order=1, mode="constant")
        ru, rv = U - R[0, 2] * z, V - R[1, 2] * z
        cx = Ainv[0, 0] * ru + Ainv[0, 1] * rv
        cy = Ainv[1, 0] * ru + Ainv[1, 1] * rv
    idx = _to_index(cx, cy, size)
    out_a = ndimage.map_coordinates(alpha, idx, order=1, mode="constant")
    out = np.stack([ndimage.map_coordinates(col[..., c], idx, order=1, mode="nearest") for c in range(3)], -1)

    # background: a plain colour with a soft left-right gradient
    bg = np.empty((size, size, 3))
    bg[:] = np.array(nz["background"])
    bg *= (1 + nz["background_gradient"] * np.linspace(-1, 1, size))[None, :, None]
    img = out * out_a[..., None] + bg * (1 - out_a[..., None])
    # auto-exposure, as a camera meters on the face: dark faces get brighter exposures
    face_lum = (col.mean(-1) * cv.skin).sum() / cv.skin.sum()
    img *= nz["exposure"] * np.clip((0.45 / face_lum) ** 0.7, 0.9, 1.8)

    # camera: blur, noise, JPEG
    if nz["blur"] > 0.05:
        img = ndimage.gaussian_filter(img, (nz["blur"], nz["blur"], 0))
    nrng = np.random.default_rng(nz["noise_seed"])
    img = img * 255 + nrng.normal(0, nz["noise"], img.shape)
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=nz["jpeg_quality"])
    img = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).copy()
    return img, nz


def _to_index(x, y, size):
    """Canonical coordinates -> (row, col) pixel indices for map_coordinates."""
    col = (x - _X_RANGE[0]) / (_X_RANGE[1] - _X_RANGE[0]) * (size - 1)
    row = (y - _Y_RANGE[0]) / (_Y_RANGE[1] - _Y_RANGE[0]) * (size - 1)
    return np.stack([row, col])


# ----------------------------------------------------------------------------- batches


def synthetic_faces(n_identities: int, per_identity: int, *, seed: int = 0, size: int = 256, max_yaw: float = 15) -> SyntheticFaces:
    """Render ``per_identity`` photos of each of ``n_identities`` synthetic people.

    Images are ordered identity by identity; see the module docstring for the seeds."""
    images = np.empty((n_identities * per_identity, size, size, 3), dtype=np.uint8)
    identities = np.repeat(np.arange(n_identities), per_identity)
    provenance = []
    for i in range(n_identities):
        identity_seed = _child_seed(seed, 0, i)
        vec = identity_parameters(identity_seed)
        for j in range(per_identity):
            view_seed = _child_seed(seed, 1, i, j)
            img, nz = render_face(vec, view_seed=view_seed, size=size, max_yaw=max_yaw)
            images[i * per_identity + j] = img
            provenance.append(
                {
                    "source": "synthetic",
                    "generator": "course.faces",
                    "generator_version": GENERATOR_VERSION,
                    "seed": seed,
                    "identity": i,
                    "identity_seed": identity_seed,
                    "view_seed": view_seed,
                    **nz,
                }
            )
    return SyntheticFaces(images=images, identities=identities, provenance=provenance)
