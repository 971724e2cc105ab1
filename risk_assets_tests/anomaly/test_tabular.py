"""Tabular outlier detectors, their ensemble and the threshold policy."""

from __future__ import annotations

import numpy as np
import pytest

from risk_assets.anomaly.tabular import (
    AutoEncoderDetector,
    EnsembleDetector,
    HistogramDetector,
    IsolationForestDetector,
    LocalOutlierFactorDetector,
    PcaDetector,
    default_detectors,
    fit_normalizer,
)
from risk_assets.anomaly.thresholds import ThresholdPolicy


@pytest.fixture(scope="module")
def data():
    """300 Gaussian inliers in 4-D for training; a test set with 5 far outliers first."""
    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 4))
    inliers = rng.normal(size=(95, 4))
    outliers = rng.normal(loc=8.0, size=(5, 4))
    test = np.vstack([outliers, inliers])
    labels = np.r_[np.ones(5), np.zeros(95)]
    return train, test, labels


def _fast_members():
    return [
        IsolationForestDetector(n_estimators=50, random_state=0),
        LocalOutlierFactorDetector(n_neighbors=10),
        AutoEncoderDetector(epochs=5, hidden_neurons=(8, 4), random_state=0),
    ]


@pytest.mark.parametrize(
    "detector",
    [*_fast_members(), PcaDetector(random_state=0), HistogramDetector(n_bins=10)],
    ids=lambda d: d.name,
)
def test_detector_ranks_outliers_first(detector, data):
    train, test, labels = data
    detector.fit(train)
    scores = detector.score(test)
    assert scores.shape == (100,)
    assert detector.training_scores_.shape == (300,)
    # Every planted outlier scores above every inlier.
    assert scores[labels == 1].min() > scores[labels == 0].max()


def test_unfitted_detector_raises():
    with pytest.raises(RuntimeError, match="not fitted"):
        IsolationForestDetector().score(np.zeros((3, 2)))


def test_detector_rejects_nan_features():
    features = np.ones((10, 2))
    features[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        IsolationForestDetector().fit(features)


def test_detector_rejects_one_dimensional_input():
    with pytest.raises(ValueError, match="2-D feature matrix"):
        LocalOutlierFactorDetector().fit(np.ones(10))


@pytest.mark.parametrize("method", ["rank", "robust_z", "z"])
def test_ensemble_ranks_outliers_first(method, data):
    train, test, labels = data
    ensemble = EnsembleDetector(_fast_members(), normalization=method).fit(train)
    scores = ensemble.score(test)
    assert scores.shape == (100,)
    assert scores[labels == 1].min() > scores[labels == 0].max()
    members = ensemble.member_scores(test)
    assert set(members) == {"iforest", "lof", "autoencoder"}
    np.testing.assert_allclose(ensemble.combine(members), scores)


def test_ensemble_rejects_unknown_normalization():
    with pytest.raises(ValueError, match="Unknown normalization 'minmax'"):
        EnsembleDetector(_fast_members(), normalization="minmax")


def test_ensemble_needs_members():
    with pytest.raises(ValueError, match="at least one member"):
        EnsembleDetector([])


def test_rank_normalizer_is_training_cdf():
    normalize = fit_normalizer(np.arange(10.0), "rank")
    np.testing.assert_allclose(normalize(np.array([-1.0, 4.0, 100.0])), [0.0, 0.5, 1.0])


def test_robust_z_normalizer_uses_median_and_mad():
    normalize = fit_normalizer(np.array([1.0, 2.0, 3.0, 4.0, 100.0]), "robust_z")
    # Median 3, MAD 1, so the scale is 1.4826.
    assert normalize(np.array([3.0]))[0] == pytest.approx(0.0)
    assert normalize(np.array([4.4826]))[0] == pytest.approx(1.0)


def test_default_detectors_are_the_three_members():
    assert [d.name for d in default_detectors()] == ["iforest", "lof", "autoencoder"]


def test_contamination_threshold_from_training_scores():
    policy = ThresholdPolicy(rate=0.1, kind="contamination").fit(np.arange(100.0))
    assert policy.threshold_ == pytest.approx(np.quantile(np.arange(100.0), 0.9))
    # New data all above the training threshold is all flagged: the rate can drift.
    assert policy.flag(np.full(20, 1000.0)).all()


def test_alert_rate_threshold_per_batch():
    policy = ThresholdPolicy(rate=0.05, kind="alert_rate")
    flags = policy.flag(np.arange(1000.0) + 5000.0)
    assert flags.sum() == 50
    assert flags[-50:].all()


def test_policy_rejects_invalid_rate():
    with pytest.raises(ValueError, match="rate must be in \\(0, 1\\), got 1.5"):
        ThresholdPolicy(rate=1.5)


def test_policy_rejects_unknown_kind():
    with pytest.raises(ValueError, match="Unknown threshold policy kind 'top_k'"):
        ThresholdPolicy(kind="top_k")


def test_unfitted_contamination_policy_raises():
    with pytest.raises(RuntimeError, match="not fitted"):
        ThresholdPolicy().flag(np.ones(3))
