"""Tests of course.eigenfaces: the pose sweep reports the eigenface count it used and refuses one it cannot fit."""

from __future__ import annotations

import numpy as np
import pytest

from course import eigenfaces


def test_pose_sweep_measures_every_component_count_on_the_same_photos():
    sweep = eigenfaces.pose_sweep(max_yaws=(0, 30), n_identities=4, per_identity=3, n_train_identities=4,
                                  n_components=6, also_components=(3, 6), size=32, seed=2)
    assert sweep.n_components == 6 and sorted(sweep.rank1_pca_by_components) == [3, 6]
    np.testing.assert_array_equal(sweep.rank1_pca, sweep.rank1_pca_by_components[6])
    assert sweep.rank1_pixels.shape == sweep.rank1_pca.shape == (2,) and sweep.n_probes == 4 * 2
    assert np.all((sweep.rank1_pixels >= 0) & (sweep.rank1_pixels <= 1))


def test_pose_sweep_refuses_more_components_than_training_photos():
    with pytest.raises(ValueError, match="need at least as many training photos"):
        eigenfaces.pose_sweep(max_yaws=(0,), n_train_identities=4, n_components=13, size=32)
