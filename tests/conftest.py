"""Shared test fixtures: the consented faces from ../shared (tests only), and small helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: The consented Face Research Lab London Set, kept outside the project (never copied into it).
SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"


@pytest.fixture(scope="session")
def london_dir() -> Path:
    """Folder of the consented London set (350 px copy beside the project)."""
    folder = SHARED_FACES / "london"
    if not folder.is_dir():
        pytest.skip(f"the consented London set is not at {folder} (tests read it from ../shared only)")
    return folder


@pytest.fixture(scope="session")
def london(london_dir):
    """The London set loaded through the course's own registry, pointed at the local copy."""
    from course import data

    return data.load_consented("london", local_copy=london_dir)


@pytest.fixture(scope="session")
def london_face(london) -> tuple[np.ndarray, dict]:
    """One consented face image (8-bit RGB) with its provenance record."""
    return london.image(0), london.provenance[0]
