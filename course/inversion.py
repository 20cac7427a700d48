"""Templates rebuild faces: invert a face embedding back into a face.

A company that deletes a photo but keeps its *template* (the embedding) has not
deleted the face. This module shows it with the course's own generator: a decoder
learns, from many synthetic people, to map a 128-d dlib embedding back to the
generator's identity parameters (:func:`course.faces.identity_parameters`, a vector in
[0, 1]); given only the embedding of a person it never saw, the decoded parameters are
rendered with :func:`course.faces.render_face`, and dlib is asked whom the
reconstruction looks like.

The decoder is ridge regression on standardised embeddings, its shrinkage towards the
average person undone (:func:`fit_decoder`). Our
faces come from a simple parametric generator, which makes inversion easier than for
photographs; published attacks on real recognisers use neural decoders or generative
models (NbNet, Mai et al.; Razzhigaev et al. on ArcFace), and also succeed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from . import faces

#: Ridge penalties tried by the decoder's built-in (leave-one-out) cross-validation.
ALPHAS = np.logspace(-1, 4, 16)


def identity_targets(provenance: list[dict]) -> np.ndarray:
    """The generator's identity vector (N x n_parameters, in [0, 1]) of every synthetic image's person."""
    cache: dict[int, np.ndarray] = {}
    rows = []
    for record in provenance:
        seed = int(record["identity_seed"])
        if seed not in cache:
            cache[seed] = faces.identity_parameters(seed)
        rows.append(cache[seed])
    return np.stack(rows)


@dataclass
class Decoder:
    """Ridge regression from an embedding to identity parameters, with its shrinkage undone.

    Ridge predictions of a weakly predictable target huddle around the average person
    (here, an average face that looks like everyone a little). ``gain`` stretches them
    back: it is chosen so that cross-validated predictions on the training people vary
    as much as the true parameters do."""

    ridge: Pipeline
    mean: np.ndarray  # average identity vector of the training people
    gain: float

    def predict(self, embeddings: ArrayLike) -> np.ndarray:
        X = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        return self.mean + self.gain * (self.ridge.predict(X) - self.mean)


def _ridge() -> Pipeline:
    return make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS))


def fit_decoder(embeddings: ArrayLike, targets: ArrayLike) -> Decoder:
    """Fit the :class:`Decoder` (penalty by leave-one-out cross-validation, gain by 5-fold)."""
    from sklearn.model_selection import KFold, cross_val_predict

    X = np.asarray(embeddings, dtype=np.float64)
    T = np.asarray(targets, dtype=np.float64)
    mean = T.mean(axis=0)
    with threadpool_limits(limits=1):
        ridge = _ridge().fit(X, T)
        held_out = cross_val_predict(_ridge(), X, T, cv=KFold(5, shuffle=True, random_state=0))
    gain = float(np.sqrt(((T - mean) ** 2).sum() / ((held_out - mean) ** 2).sum()))
    return Decoder(ridge, mean, gain)


def decode(decoder: Decoder, embeddings: ArrayLike) -> np.ndarray:
    """Identity parameters predicted from embeddings, clipped to the generator's box [0, 1]."""
    return np.clip(decoder.predict(embeddings), 0.0, 1.0)


def decoder_r2(decoder: Decoder, embeddings: ArrayLike, targets: ArrayLike) -> float:
    """R^2 of the decoded parameters: 1 = perfect, 0 = no better than guessing the average person."""
    T = np.asarray(targets, dtype=np.float64)
    residual = ((decode(decoder, embeddings) - T) ** 2).sum()
    return float(1 - residual / ((T - decoder.mean) ** 2).sum())


def reconstruction_record(template: dict, *, view_seed: int) -> dict:
    """A truthful provenance record for a face rebuilt from the embedding of the synthetic image ``template``.

    The face is synthetic (drawn by course.faces) but no identity seed made it: its
    identity vector was decoded from a template. The record says so, and names the
    image whose template was used."""
    return {
        "source": "synthetic",
        "generator": "course.inversion.reconstruct: ridge decoder (embedding -> identity vector), then course.faces.render_face",
        "generator_version": faces.GENERATOR_VERSION,
        "identity_seed": f"none (decoded from the template of id seed {template['identity_seed']})",
        "view_seed": int(view_seed),
        "reconstruction_of": {"identity_seed": template["identity_seed"], "view_seed": template["view_seed"]},
        "note": "A reconstruction computed from a face embedding of a synthetic person; depicts no real person.",
    }


def average_face_record(*, view_seed: int) -> dict:
    """Provenance of the "average face": the mean identity vector of the decoder's training people."""
    return {
        "source": "synthetic",
        "generator": "course.faces.render_face of the average identity vector of the decoder's training people",
        "generator_version": faces.GENERATOR_VERSION,
        "identity_seed": "none, the average of the training people's identity vectors",
        "view_seed": int(view_seed),
        "note": "A baseline that carries no information about any one person.",
    }


def reconstruct(decoder: Decoder, embedding: ArrayLike, template: dict, *, view_seed: int = 1,
                size: int = 256) -> tuple[np.ndarray, dict, np.ndarray]:
    """Render the face a decoder reads from one embedding: (image, provenance record, decoded identity)."""
    identity = decode(decoder, embedding)[0]
    image, _ = faces.render_face(identity, view_seed=view_seed, size=size)
    record = {**reconstruction_record(template, view_seed=view_seed), "identity_vector": identity.tolist()}
    return image, record, identity


@dataclass
class Reconstruction:
    """How well one reconstruction matches the person whose template it was decoded from."""

    person: int
    template_row: int  # row of the template in the face set
    image: np.ndarray
    record: dict
    found: bool  # dlib found a face in the reconstruction
    distance_to_person: float  # to the nearest of the person's *other* photos
    distance_to_others: float  # to the nearest photo of anybody else
    rank: int | None  # rank of the true person among all people in the gallery (1 = best); None if no face found
    n_people: int
    fresh_photo_rank: int | None  # the same, for a new photo of the real person from the same view seed


@dataclass
class InversionResult:
    """Everything :func:`inversion_attack` measured."""

    reconstructions: list[Reconstruction]
    decoder: Decoder
    r2: float  # decoder's R^2 on the deleted people's identity parameters
    average_face_ranks: list[int | None]  # rank of each deleted person for the average face (no information)

    @property
    def n_people(self) -> int:
        return self.reconstructions[0].n_people


def _embed_or_none(image: np.ndarray, record: dict) -> np.ndarray | None:
    from . import embed

    found = embed.encode_faces(image, record)
    return np.asarray(found[0].vector) if len(found) == 1 else None


def inversion_attack(embeddings: ArrayLike, identities: ArrayLike, provenance: list[dict], deleted: ArrayLike, *,
                     view_seed: int = 1, size: int = 256) -> InversionResult:
    """Train a decoder on everyone but ``deleted``, then rebuild each deleted person from one template.

    ``embeddings``, ``identities``, ``provenance``: a face set's rows where a face was
    found. Each deleted person needs at least two photos: the template is the embedding
    of their first photo, and the reconstruction (rendered with ``view_seed``, embedded
    by dlib) is searched among every other photo of the set, the template's own photo
    excluded. Two references: a fresh photo of the real person (their true identity
    vector, same view seed), the best a reconstruction could hope for; and the average
    face of the training people, which carries no information about anyone.
    """
    from .metrics import identification_ranks

    X = np.asarray(embeddings, dtype=np.float64)
    ids = np.asarray(identities)
    deleted = np.asarray(deleted)
    counts = {p: int((ids == p).sum()) for p in deleted}
    if too_few := [int(p) for p, n in counts.items() if n < 2]:
        raise ValueError(f"people {too_few} have fewer than two photos: nothing to compare a reconstruction with")
    targets = identity_targets(provenance)
    train = ~np.isin(ids, deleted)
    decoder = fit_decoder(X[train], targets[train])
    r2 = decoder_r2(decoder, X[~train], targets[~train])

    def rank_in_gallery(vector, person, row):
        gallery = np.arange(len(ids)) != row
        if vector is None:
            return None
        return int(identification_ranks(X[gallery], ids[gallery], vector[None, :], [person])[0])

    average_face, _ = faces.render_face(decoder.mean, view_seed=view_seed, size=size)
    average_record = {**average_face_record(view_seed=view_seed), "identity_vector": decoder.mean.tolist()}
    average_vec = _embed_or_none(average_face, average_record)
    results, average_ranks = [], []
    for person in deleted:
        row = int(np.flatnonzero(ids == person)[0])
        image, record, _ = reconstruct(decoder, X[row], provenance[row], view_seed=view_seed, size=size)
        vector = _embed_or_none(image, record)
        fresh, _ = faces.render_face(targets[row], view_seed=view_seed, size=size)
        fresh_vec = _embed_or_none(fresh, {**provenance[row], "view_seed": view_seed})
        gallery = np.arange(len(ids)) != row
        own = ids[gallery] == person
        d = np.linalg.norm(X[gallery] - vector, axis=1) if vector is not None else np.full(gallery.sum(), np.nan)
        results.append(Reconstruction(
            int(person), row, image, record, vector is not None,
            float(d[own].min()), float(d[~own].min()), rank_in_gallery(vector, person, row),
            len(np.unique(ids[gallery])), rank_in_gallery(fresh_vec, person, row)))
        average_ranks.append(rank_in_gallery(average_vec, person, row))
    return InversionResult(results, decoder, r2, average_ranks)
