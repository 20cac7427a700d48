"""The data registry: committed synthetic data, the optional consented download, checksums."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from course import data, embed, faces, provenance
from course.errors import DatasetError


def test_every_entry_states_licence_and_origin():
    for name, entry in data.registry().items():
        assert entry["licence"], name
        assert entry.get("statement") or entry.get("consent"), f"{name}: synthetic or consent statement"
        assert entry["kind"] in ("generated", "download")


# ------------------------------------------------------------------ the default synthetic set


@pytest.fixture(scope="module")
def people():
    return data.load("synthetic-people")


def test_committed_synthetic_set_matches_its_checksums(people):
    assert data.verify("synthetic-people") == []
    n = len(people)
    params = data.registry()["synthetic-people"]["parameters"]
    assert n == params["n_identities"] * params["per_identity"]
    assert people.embeddings.shape == (n, 128) and people.thumbnails.shape == (n, 64, 64, 3)
    assert np.isnan(people.embeddings[~people.found]).all() and np.isfinite(people.embeddings[people.found]).all()
    for record in people.provenance:
        provenance.require_provenance(record)


def test_a_regenerated_sample_matches_the_committed_set(people):
    """Rebuild the first two identities from the registered seed and compare with what is committed."""
    params = data.registry()["synthetic-people"]["parameters"]
    k = 2 * params["per_identity"]
    fresh = faces.synthetic_faces(2, params["per_identity"], seed=params["seed"], size=params["size"],
                                  max_yaw=params["max_yaw"])
    for committed, record in zip(people.provenance[:k], fresh.provenance):
        assert committed["identity_seed"] == record["identity_seed"]
        assert committed["view_seed"] == record["view_seed"]
    assert np.array_equal(people.identities[:k], fresh.identities)
    for i in range(k):
        thumb = data._resize(fresh.images[i], data.THUMB).astype(int)
        # JPEG storage costs 2-4 grey levels on average; another image differs by far more
        assert np.abs(thumb - people.thumbnails[i]).mean() < 6, f"image {i} differs from its thumbnail"
        assert np.abs(thumb - people.thumbnails[(i + 1) % k]).mean() > 8
    batch = embed.embed_batch(fresh.images[:4], fresh.provenance[:4], progress=False, cache=False)
    assert np.array_equal(batch.found, people.found[:4])
    found = batch.found
    assert np.allclose(batch.vectors[found], people.embeddings[:4][found], atol=1e-4)
    assert np.array_equal(people.image(0), fresh.images[0])


def test_tampered_file_is_detected(tmp_path, monkeypatch):
    copy = tmp_path / "synthetic-people"
    copy.mkdir()
    for path in (data.DATA_DIR / "synthetic-people").iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    assert data.verify("synthetic-people") == []
    with open(copy / "manifest.csv", "a") as handle:
        handle.write("\n")
    assert data.verify("synthetic-people") == ["synthetic-people/manifest.csv does not match its registered sha256"]
    with pytest.raises(DatasetError, match="python -m course data build synthetic-people"):
        data.load("synthetic-people")


def test_unknown_set_names_the_known_ones():
    with pytest.raises(DatasetError, match="synthetic-people"):
        data.load("celebrities")


# ------------------------------------------------------------------ the consented London set


def test_local_copy_of_london_loads_with_consent_records(london):
    assert len(london.paths) == 204
    record = london.provenance[0]
    assert provenance.require_provenance(record)["licence"] == "CC BY 4.0"
    assert "signed consent" in record["consent"]
    groups = {row["ethnicity"] for row in london.metadata}
    assert {"black", "east_asian", "west_asian", "white"} <= groups
    assert london.image(0).shape == (350, 350, 3)


def test_local_copy_with_a_changed_file_is_refused(tmp_path, london_dir):
    for path in london_dir.glob("*.jpg"):
        (tmp_path / path.name).symlink_to(path)
    (tmp_path / "001_03_neutral.jpg").unlink()
    (tmp_path / "001_03_neutral.jpg").write_bytes(b"not the consented file")
    with pytest.raises(DatasetError, match="0 file.s. missing .* and 1 not matching"):
        data.fetch("london", local_copy=tmp_path)
    (tmp_path / "002_03_neutral.jpg").unlink()
    with pytest.raises(DatasetError, match="1 file.s. missing"):
        data.fetch("london", local_copy=tmp_path)
    with pytest.raises(DatasetError, match="no such folder"):
        data.fetch("london", local_copy=tmp_path / "nowhere")


@pytest.fixture
def local_server(london_dir):
    """An HTTP server on 127.0.0.1 serving the consented files, standing in for the download host."""
    handler = functools.partial(QuietHandler, directory=str(london_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _small_registry(tmp_path, monkeypatch, london_dir, base_url, files):
    """Point the registry at a three-file manifest whose download URLs are on the local server."""
    rows = []
    for name in files:
        rows.append({"file": name, "sha256": hashlib.sha256((london_dir / name).read_bytes()).hexdigest(),
                     "source_path": name,
                     "source_sha256": hashlib.sha256((london_dir / name).read_bytes()).hexdigest()})
    manifest = _write_manifest(tmp_path, rows)
    entries = data.registry()
    entries["london"].update(url_template=base_url + "/{path}", manifest="london.csv",
                             manifest_sha256=data.sha256_file(manifest))
    monkeypatch.setattr(data, "registry", lambda: entries)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv("FACES_AT_SCALE_LONDON_DIR", raising=False)
    return rows


def _write_manifest(tmp_path, rows) -> Path:
    manifest = tmp_path / "london.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def _rewrite_manifest(tmp_path, rows) -> None:
    """Change the small registry's manifest (after _small_registry) and register its new checksum."""
    data.registry()["london"]["manifest_sha256"] = data.sha256_file(_write_manifest(tmp_path, rows))


def test_download_is_verified_and_cached(tmp_path, monkeypatch, london_dir, local_server):
    files = ["001_03_neutral.jpg", "001_08_smiling.jpg", "002_03_neutral.jpg"]
    _small_registry(tmp_path, monkeypatch, london_dir, local_server, files)
    folder = data.fetch("london")
    assert sorted(p.name for p in folder.iterdir()) == files
    # cached: a second fetch works with the server gone
    monkeypatch.setattr(data, "_download", lambda *a: pytest.fail("downloaded again"))
    assert data.fetch("london") == folder
    faces_ = data.load_consented("london")  # cached now, so no download is needed
    assert len(faces_.paths) == 3 and faces_.provenance[2]["file"] == "002_03_neutral.jpg"


def test_a_copy_of_a_fetched_cache_is_accepted_as_a_local_copy(tmp_path, monkeypatch, london_dir, local_server):
    """fetch keeps the originals (source_sha256); an instructor hands out a copy of that folder."""
    rows = _small_registry(tmp_path, monkeypatch, london_dir, local_server, ["001_03_neutral.jpg"])
    rows[0]["sha256"] = "0" * 64  # the registered downscaled copy differs from the original
    _rewrite_manifest(tmp_path, rows)
    cache = data.fetch("london")
    handed_out = tmp_path / "handed-out"
    handed_out.mkdir()
    (handed_out / "001_03_neutral.jpg").write_bytes((cache / "001_03_neutral.jpg").read_bytes())
    assert data.fetch("london", local_copy=handed_out) == handed_out


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, monkeypatch, london_dir, local_server):
    rows = _small_registry(tmp_path, monkeypatch, london_dir, local_server, ["001_03_neutral.jpg"])
    rows[0]["source_path"] = "004_03_neutral.jpg"  # the server hands over a different person's file
    _rewrite_manifest(tmp_path, rows)
    with pytest.raises(DatasetError, match="does not match its registered sha256"):
        data.fetch("london")
    assert not (tmp_path / "cache" / "london" / "001_03_neutral.jpg").exists()


def test_lessons_never_download_on_their_own(tmp_path, monkeypatch, london_dir, local_server):
    _small_registry(tmp_path, monkeypatch, london_dir, local_server, ["001_03_neutral.jpg"])
    with pytest.raises(DatasetError, match="has not been fetched"):
        data.load_consented("london")
    assert not (tmp_path / "cache" / "london" / "001_03_neutral.jpg").exists()
    assert len(data.load_consented("london", download=True).paths) == 1


def test_offline_download_says_the_set_is_optional(tmp_path, monkeypatch, london_dir):
    _small_registry(tmp_path, monkeypatch, london_dir, "http://127.0.0.1:9", ["001_03_neutral.jpg"])
    with pytest.raises(DatasetError, match="optional: every lesson runs without it"):
        data.fetch("london", timeout=2)
