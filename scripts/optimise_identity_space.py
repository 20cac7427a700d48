"""Fit course/identity_space.npz: how identity seeds are turned into well-spread people.

Drawing every identity parameter independently and uniformly gives people that dlib's
recogniser packs close together: many parameters barely move its embedding, and some
move it along the same directions as pose and light do. This script, run once offline,
finds the directions in identity-parameter space that move dlib's embedding most
relative to the nuisance, so that ``course.faces.identity_parameters`` can spend its
variation there:

1. draw ``--people`` identity vectors uniformly in [0, 1]^n, render ``--views`` photos
   of each (random pose, light, expression, camera), and compute their dlib encodings;
2. fit a ridge regression  encoding ~ identity vector  (per-person mean encodings) and
   the within-person (nuisance) covariance of the encodings;
3. take the leading eigenvectors of  W S_w^-1 W^T  (W: regression weights, S_w:
   nuisance covariance), i.e. parameter directions whose embedding change is large
   compared with what nuisance does (a Fisher discriminant in parameter space);
4. save to course/identity_space.npz the parameter names, those directions (unit rows),
   the scale that takes each to the edge of the [0, 1] box from its centre, their
   relative strengths (for information), and the sampling ``--gain`` and ``--residual``
   that ``identity_parameters`` uses (people are centred on 0.5 in every parameter).

    uv run python scripts/optimise_identity_space.py [--people 400] [--views 2] [--directions 12]

It takes a few minutes on two cores. Re-run it, and bump GENERATOR_VERSION, whenever
the renderer's parameters change.
"""

from __future__ import annotations

import argparse
from multiprocessing import Pool
from pathlib import Path

import face_recognition
import numpy as np

from course import faces

OUT = Path(__file__).resolve().parents[1] / "course" / "identity_space.npz"


def _encode(job):
    """Render one view of one identity and return its dlib encoding (or None)."""
    vec, view_seed = job
    img, _ = faces.render_face(vec, view_seed=view_seed)
    boxes = face_recognition.face_locations(img)
    if not boxes:
        return None
    return face_recognition.face_encodings(img, boxes[:1])[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=400)
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--directions", type=int, default=12)
    ap.add_argument("--gain", type=float, default=1.2, help="how far along each direction people go (1: to the box)")
    ap.add_argument("--residual", type=float, default=0.5, help="width of the independent per-parameter term")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    n = faces.N_IDENTITY_PARAMETERS
    people = rng.uniform(0, 1, (args.people, n))
    jobs = [(vec, int(rng.integers(2**32))) for vec in people for _ in range(args.views)]
    with Pool(args.workers) as pool:
        encs = pool.map(_encode, jobs, chunksize=4)

    P, means, within = [], [], []
    for i, vec in enumerate(people):
        e = [x for x in encs[i * args.views : (i + 1) * args.views] if x is not None]
        if len(e) < 2:
            continue
        e = np.array(e)
        P.append(vec)
        means.append(e.mean(0))
        within.append(e - e.mean(0))
    P, means, within = np.array(P), np.array(means), np.concatenate(within)
    print(f"{len(P)} of {args.people} people detected in >= 2 views")

    # ridge regression  mean encoding ~ parameters
    Pc = P - P.mean(0)
    Ec = means - means.mean(0)
    lam = 1.0
    W = np.linalg.solve(Pc.T @ Pc + lam * np.eye(n), Pc.T @ Ec)  # n x 128
    r2 = 1 - ((Ec - Pc @ W) ** 2).sum() / (Ec**2).sum()
    print(f"linear fit of the mean encodings: R^2 = {r2:.2f}")

    # Fisher directions: embedding change per unit parameter change, in nuisance-whitened units
    Sw = within.T @ within / (len(within) - len(P)) + 1e-3 * np.eye(W.shape[1])
    M = W @ np.linalg.solve(Sw, W.T)
    evals, evecs = np.linalg.eigh(M)
    order = np.argsort(evals)[::-1][: args.directions]
    directions = evecs[:, order].T  # k x n, unit rows
    # scale each direction so that +-1 spans the parameter box along it (on average)
    scales = 0.5 / np.abs(directions).max(axis=1)
    for name, weight in zip(faces.IDENTITY_PARAMETER_NAMES, np.abs(directions[0])):
        if weight > 0.2:
            print(f"  first direction loads on {name} ({weight:.2f})")
    print("relative strength of the directions:", np.round(evals[order] / evals[order][0], 2))
    np.savez_compressed(
        OUT,
        parameter_names=np.array(faces.IDENTITY_PARAMETER_NAMES),
        directions=directions.astype(np.float32),
        scales=scales.astype(np.float32),
        strengths=(evals[order] / evals[order][0]).astype(np.float32),
        gain=np.float32(args.gain),
        residual=np.float32(args.residual),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
