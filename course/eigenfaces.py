"""Eigenfaces: face identification with pixels and PCA, the method deep embeddings replaced (lesson 01).

Turk and Pentland's 1991 idea: treat a greyscale face as one long vector of pixels,
find the directions in which faces vary most (principal components, "eigenfaces")
and compare faces by their coordinates along the first few. It works when pose
and light barely change, and collapses when they do; :func:`pose_sweep` measures that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from . import faces
from .metrics import rank_k_identification


#: Fraction of the image side kept around the centre: the face, without most of the background.
CROP = 0.6


def face_vectors(images: np.ndarray, crop: float = CROP) -> np.ndarray:
    """Turn N x H x W x 3 uint8 images into one greyscale vector per face.

    Keeps the central ``crop`` of each side (the face, not the background), and
    standardises each image (mean 0, standard deviation 1) so that a brighter photo
    of the same face is not a different vector: the classic eigenface preprocessing.
    Reshape a vector to :func:`crop_shape` to see it as an image.
    """
    images = np.asarray(images, dtype=np.float64) / 255.0
    grey = images @ np.array([0.299, 0.587, 0.114])
    side = grey.shape[1]
    keep = int(round(side * crop))
    start = (side - keep) // 2
    vectors = grey[:, start:start + keep, start:start + keep].reshape(len(images), -1)
    vectors = vectors - vectors.mean(axis=1, keepdims=True)
    return vectors / np.maximum(vectors.std(axis=1, keepdims=True), 1e-12)


def crop_shape(image_side: int, crop: float = CROP) -> tuple[int, int]:
    """The (height, width) of a face vector reshaped back into an image."""
    keep = int(round(image_side * crop))
    return keep, keep


def fit_eigenfaces(images: np.ndarray, n_components: int, *, seed: int = 0) -> PCA:
    """Fit PCA to face vectors; ``pca.mean_`` is the mean face, ``pca.components_`` the eigenfaces."""
    return PCA(n_components=n_components, svd_solver="randomized", random_state=seed).fit(face_vectors(images))


def gallery_probe_split(identities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a 1:N test: the first image of each identity is enrolled, the rest are probes."""
    identities = np.asarray(identities)
    _, first = np.unique(identities, return_index=True)
    gallery = np.sort(first)
    probes = np.setdiff1d(np.arange(len(identities)), gallery)
    return gallery, probes


def rank1_pixels_and_pca(images: np.ndarray, identities: np.ndarray, pca: PCA) -> tuple[float, float]:
    """Rank-1 identification with the face pixels, and with the same faces projected on ``pca``."""
    gallery, probes = gallery_probe_split(identities)
    pixels = face_vectors(images)
    coords = pca.transform(pixels)
    on_pixels = rank_k_identification(pixels[gallery], identities[gallery], pixels[probes], identities[probes])
    on_pca = rank_k_identification(coords[gallery], identities[gallery], coords[probes], identities[probes])
    return on_pixels, on_pca


@dataclass
class PoseSweep:
    """Rank-1 identification for each pose range (max |yaw| in degrees), in pixel and PCA space.

    Each rate is over ``n_probes`` probe photos. ``rank1_pca`` uses ``n_components`` eigenfaces;
    ``rank1_pca_by_components`` holds the same measurement for every number of components tried, so a
    reader can see how much that choice matters."""

    max_yaws: np.ndarray
    rank1_pixels: np.ndarray
    rank1_pca: np.ndarray
    n_components: int
    rank1_pca_by_components: dict[int, np.ndarray]
    n_probes: int


def pose_sweep(
    max_yaws=(0, 5, 10, 15, 25, 35),
    *,
    n_identities: int = 30,
    per_identity: int = 5,
    n_train_identities: int = 40,
    n_components: int = 60,
    also_components: tuple[int, ...] = (),
    size: int = 64,
    seed: int = 1,
) -> PoseSweep:
    """Measure how eigenface identification falls as the head turns further.

    Eigenfaces are learned from ``n_train_identities`` other synthetic people, 3 frontal photos each
    (``max_yaw=0``); then, for each pose range, ``n_identities`` new people with ``per_identity`` photos
    each are identified (first photo enrolled, the rest probes). Light, expression and the other nuisances
    vary as usual in every photo. ``also_components`` repeats the PCA measurement with other numbers of
    eigenfaces on the same photos (rendering dominates the time, so this costs little).
    """
    counts = (n_components, *[n for n in also_components if n != n_components])
    if max(counts) > 3 * n_train_identities:
        raise ValueError(f"pose_sweep: {max(counts)} components need at least as many training photos; "
                         f"{n_train_identities} people x 3 photos give {3 * n_train_identities}.")
    train = faces.synthetic_faces(n_train_identities, 3, seed=seed + 1000, size=size, max_yaw=0)
    pcas = {n: fit_eigenfaces(train.images, n, seed=seed) for n in counts}
    pixels, pca_rates = [], {n: [] for n in counts}
    for max_yaw in max_yaws:
        test = faces.synthetic_faces(n_identities, per_identity, seed=seed, size=size, max_yaw=max_yaw)
        for n, pca in pcas.items():
            on_pixels, on_pca = rank1_pixels_and_pca(test.images, test.identities, pca)
            pca_rates[n].append(on_pca)
        pixels.append(on_pixels)
    by_components = {n: np.asarray(rates) for n, rates in pca_rates.items()}
    return PoseSweep(np.asarray(max_yaws), np.asarray(pixels), by_components[n_components], n_components, by_components,
                     n_probes=n_identities * (per_identity - 1))
