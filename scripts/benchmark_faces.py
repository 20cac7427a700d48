"""Benchmark course.faces: how well does dlib detect and recognise the synthetic people?

Renders n_identities x per_identity images (default 40 x 10 at 256 px, yaw across
+-max_yaw, pitch across +-8 degrees, light/expression/camera varying per image) and prints:
render time per image (CPU time of this single-threaded process, so other load on the
machine does not inflate it), dlib HOG detection rate, CNN detection rate (on a sample: the CNN
detector takes ~1 s per image on a laptop CPU), and on HOG-detected faces with
128-d encodings from course.embed (the pipeline the lessons use: face_recognition
with its 68-landmark alignment): ROC AUC, EER and the threshold
that gives it (the calibrated threshold for synthetic people), rank-1 identification
(first detected image of each identity as gallery, the rest as probes), and the mean
same- and different-identity distances.

    uv run python scripts/benchmark_faces.py [--identities 40] [--per-identity 10] [--cnn-sample 100]
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the render time is for one core

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from course import faces
from course.embed import detect_faces, encode_faces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--identities", type=int, default=40)
    ap.add_argument("--per-identity", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--max-yaw", type=float, default=15.0)
    ap.add_argument("--cnn-sample", type=int, default=100, help="images checked with the CNN detector (0: skip)")
    args = ap.parse_args()

    t0, c0 = time.perf_counter(), time.process_time()
    data = faces.synthetic_faces(args.identities, args.per_identity, seed=args.seed, size=args.size, max_yaw=args.max_yaw)
    n = len(data.images)
    wall_ms = (time.perf_counter() - t0) / n * 1000
    cpu_ms = (time.process_time() - c0) / n * 1000

    encodings, labels = [], []
    for img, ident, provenance in zip(data.images, data.identities, data.provenance):
        found = encode_faces(img, provenance)  # the course's own pipeline, HOG + 68 landmarks
        if found:
            face = max(found, key=lambda f: (f.box[2] - f.box[0]) * (f.box[1] - f.box[3]))
            encodings.append(face.vector)
            labels.append(ident)
    encodings, labels = np.array(encodings), np.array(labels)
    hog_rate = len(labels) / n

    dist = np.linalg.norm(encodings[:, None] - encodings[None], axis=-1)
    iu = np.triu_indices(len(labels), 1)
    same = (labels[:, None] == labels[None])[iu]
    d = dist[iu]
    auc = roc_auc_score(same, -d)
    fpr, tpr, thr = roc_curve(same, -d)
    k = np.argmin(np.abs(fpr - (1 - tpr)))
    eer, eer_threshold = (fpr[k] + 1 - tpr[k]) / 2, -thr[k]

    gallery = {}
    for i, lab in enumerate(labels):
        gallery.setdefault(lab, i)
    g_idx = np.array(list(gallery.values()))
    g_lab = labels[g_idx]
    probes = np.array([i for i in range(len(labels)) if i not in set(g_idx)])
    nearest = g_lab[np.argmin(dist[np.ix_(probes, g_idx)], axis=1)]
    rank1 = float(np.mean(nearest == labels[probes]))

    cnn_n = min(args.cnn_sample, n)
    cnn_rate = float("nan")
    if cnn_n:
        pick = np.random.default_rng(0).choice(n, cnn_n, replace=False)
        cnn_rate = np.mean([len(detect_faces(data.images[i], data.provenance[i], model="cnn")) > 0 for i in pick])

    print(f"generator {faces.GENERATOR_VERSION}: {args.identities} identities x {args.per_identity} images, "
          f"{args.size} px, seed {args.seed}, yaw +-{args.max_yaw:g} deg, pitch +-8 deg")
    print(f"render time                 {cpu_ms:7.1f} ms/image CPU time, one core ({wall_ms:.1f} ms wall clock)")
    print(f"HOG detection rate          {hog_rate:7.1%}  ({len(labels)}/{n})")
    print(f"CNN detection rate          {cnn_rate:7.1%}  (on a random sample of {cnn_n} images)")
    print(f"ROC AUC                     {auc:7.4f}")
    print(f"EER                         {eer:7.1%}")
    print(f"EER threshold               {eer_threshold:7.3f}  (calibrated threshold for synthetic people)")
    print(f"rank-1 identification       {rank1:7.1%}  ({len(g_idx)} gallery, {len(probes)} probes)")
    print(f"mean same-identity dist     {d[same].mean():7.3f}")
    print(f"mean different-identity dist{d[~same].mean():7.3f}")


if __name__ == "__main__":
    main()
