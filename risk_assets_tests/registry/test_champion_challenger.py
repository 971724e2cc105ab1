"""AP with weights, the paired bootstrap and the promotion rules."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from risk_assets.registry.champion_challenger import (
    PromotionPolicy,
    average_precision,
    compare_models,
    expected_calibration_error,
)

POLICY = PromotionPolicy(bootstrap_samples=300)


def make_window(seed: int = 0, rows: int = 2000, fraud_rate: float = 0.05):
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < fraud_rate).astype(float)
    clusters = rng.integers(0, rows // 4, rows)
    return rng, labels, clusters


def calibrated_scores(rng, labels, separation: float) -> np.ndarray:
    """Probabilities of a logistic model whose log-odds separate the classes by ``separation``."""
    logits = -3.0 + separation * labels + rng.normal(0, 1, len(labels))
    return 1 / (1 + np.exp(-logits))


def test_average_precision_matches_sklearn():
    rng, labels, _ = make_window()
    scores = np.round(rng.random(len(labels)), 2)  # many ties
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_average_precision_weights_repeat_rows():
    rng, labels, _ = make_window(rows=300)
    scores = rng.random(len(labels))
    weights = rng.integers(0, 3, len(labels)).astype(float)
    repeated = np.repeat(np.arange(len(labels)), weights.astype(int))
    assert average_precision(labels, scores, weights) == pytest.approx(
        average_precision_score(labels[repeated], scores[repeated]), abs=1e-12
    )


def test_expected_calibration_error_zero_when_calibrated():
    labels = np.array([0, 1] * 50, dtype=float)
    assert expected_calibration_error(labels, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(labels, np.full(100, 0.9)) == pytest.approx(0.4)


def test_clearly_better_challenger_promoted():
    rng = np.random.default_rng(0)
    risk = 1 / (1 + np.exp(-(-4.0 + 2.0 * rng.normal(size=3000))))
    labels = (rng.random(len(risk)) < risk).astype(float)
    clusters = rng.integers(0, 750, len(risk))
    # Both models are calibrated, but the champion scores each row with its tercile's mean.
    terciles = np.digitize(risk, np.quantile(risk, [1 / 3, 2 / 3]))
    champion = np.array([risk[terciles == group].mean() for group in terciles])
    # The champion's best tercile stays below the 0.5 threshold, so it never alerts;
    # any useful challenger alerts on some genuine rows, hence the wider tolerance.
    policy = PromotionPolicy(bootstrap_samples=300, max_false_alert_rate_increase=0.02)
    decision = compare_models(labels, champion, risk, clusters, policy)
    assert decision.challenger_guardrails["alert_rate"] > 0
    assert decision.challenger_ap > decision.champion_ap
    assert decision.ci_low > 0
    assert decision.ci_low <= decision.ap_difference <= decision.ci_high
    assert decision.promote, decision.reasons


def test_equal_challenger_not_promoted():
    rng, labels, clusters = make_window()
    champion = calibrated_scores(rng, labels, 2.0)
    challenger = calibrated_scores(rng, labels, 2.0)
    decision = compare_models(labels, champion, challenger, clusters, POLICY)
    assert decision.ci_low <= 0
    assert not decision.promote
    assert "not significant" in decision.reasons[0]


def test_guardrail_blocks_better_ranking():
    rng, labels, clusters = make_window()
    champion = calibrated_scores(rng, labels, 1.0)
    # Better ranking but overconfident: every score pushed towards 1.
    challenger = calibrated_scores(rng, labels, 4.0) ** 0.1
    decision = compare_models(labels, champion, challenger, clusters, POLICY)
    assert decision.ci_low > 0
    assert not decision.guardrails_passed["brier"]
    assert not decision.guardrails_passed["false_alert_rate"]
    assert not decision.promote


def test_single_class_window_rejected():
    labels = np.zeros(50)
    with pytest.raises(ValueError, match="both classes"):
        compare_models(labels, np.zeros(50), np.zeros(50), policy=POLICY)


def test_length_mismatch_rejected():
    with pytest.raises(ValueError, match="one value per compared row"):
        compare_models(np.array([0, 1]), np.zeros(2), np.zeros(3), policy=POLICY)


def test_policy_rejects_few_resamples():
    with pytest.raises(ValueError, match="at least 100"):
        PromotionPolicy(bootstrap_samples=10)
