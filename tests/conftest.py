"""Shared test settings and fixtures: Hypothesis profiles, and the consented faces from ../shared (tests only).

Hypothesis profiles (chosen by the environment variable HYPOTHESIS_PROFILE):

* ``ci`` (the default, used by ``uv run pytest``): derandomized, so every run tries the
  same examples and the suite cannot fail at random; no example database, so a failure
  saved by an earlier run is not replayed in a later one; no deadline (2 shared cores).
* ``explore``: random, and many more examples, to hunt for new bugs. A failure it finds
  is a bug: fix it, and keep the shrunk sequence as a regression test.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
