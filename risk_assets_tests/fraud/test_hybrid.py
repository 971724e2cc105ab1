"""Hybrid fraud score: percentiles, blends, alert-rate recall and the held-out experiment."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from risk_assets.fraud.evaluation import TimeSplit, in_window
from risk_assets.fraud.hybrid import (
    BLENDED,
    SUPERVISED,
    UNSUPERVISED,
    HybridConfig,
    OutlierScorer,
    blend_scores,
    mask_scenario,
    percentile_scores,
    recall_at_alert_rate,
    run_holdout_experiment,
    summarize_holdout,
    tail_scores,
)
from risk_assets.fraud.training import XGBoostParams
from risk_assets.ingestion.simulator import SimulationConfig, simulate


def test_percentile_scores_rank_against_reference():
    reference = np.array([1.0, 2.0, 3.0, 4.0])

    percentiles = percentile_scores(reference, np.array([0.0, 1.0, 2.5, 4.0, 99.0]))

    assert percentiles.tolist() == pytest.approx([0.0, 0.2, 0.4, 0.8, 0.8])


def test_percentile_scores_reject_empty_reference():
    with pytest.raises(ValueError, match="reference scores are empty"):
        percentile_scores(np.array([]), np.array([1.0]))


def test_tail_scores_finite_and_increasing():
    percentiles = percentile_scores(np.arange(100.0), np.array([-1.0, 50.0, 98.5, 1e9]))

    tails = tail_scores(percentiles)

    assert np.isfinite(tails).all()
    assert tails[0] == 0.0
    assert np.all(np.diff(tails) > 0)


def test_fisher_blend_lets_one_extreme_score_through():
    # Row 0: moderate on both sides. Row 1: unremarkable to the model, extreme outlier.
    supervised = np.array([0.95, 0.5])
    detectors = [np.array([0.95, 0.999])]

    fisher = blend_scores(supervised, detectors, 0.5, method="fisher")
    mean = blend_scores(supervised, detectors, 0.5, method="mean")

    assert fisher[1] > fisher[0]
    assert mean[1] < mean[0]


def test_blend_weights_select_sides():
    supervised = np.array([0.1, 0.9])
    detectors = [np.array([0.8, 0.2]), np.array([0.6, 0.4])]

    only_model = blend_scores(supervised, detectors, 1.0, method="mean")
    only_detectors = blend_scores(supervised, detectors, 0.0, method="mean")

    assert only_model.tolist() == pytest.approx([0.1, 0.9])
    assert only_detectors.tolist() == pytest.approx([0.7, 0.3])


def test_blend_rejects_unknown_method():
    with pytest.raises(ValueError, match="Unknown blend method 'max'"):
        blend_scores(np.array([0.5]), [np.array([0.5])], 0.5, method="max")


def test_recall_at_alert_rate_counts_top_rows():
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0])
    positives = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0], dtype=bool)

    # 25 % of 10 rows rounds up to 3 alerts: rows 0, 2 and 3.
    assert recall_at_alert_rate(scores, positives, 0.25) == pytest.approx(2 / 3)
    assert recall_at_alert_rate(scores, positives, 0.1) == pytest.approx(1 / 3)
    assert recall_at_alert_rate(scores, positives, 0.99) == 1.0


def test_recall_without_positives_is_nan():
    recall = recall_at_alert_rate(np.array([0.3, 0.2]), np.array([False, False]), 0.5)

    assert math.isnan(recall)


def test_mask_scenario_hides_only_that_scenario():
    transactions = pd.DataFrame(
        {
            "is_fraud": pd.array([0, 1, 1, 1], dtype="Int64"),
            "fraud_scenario": pd.array([0, 2, 3, 2], dtype="Int64"),
        }
    )

    masked = mask_scenario(transactions, 2)

    assert masked["is_fraud"].tolist() == [0, 0, 1, 0]
    assert masked["fraud_scenario"].tolist() == [0, 2, 3, 2]
    assert transactions["is_fraud"].tolist() == [0, 1, 1, 1]


def test_mask_scenario_rejects_absent_scenario():
    transactions = pd.DataFrame({"is_fraud": [0, 1], "fraud_scenario": [0, 1]})

    with pytest.raises(ValueError, match=r"scenario 7 has no transactions. Present: \[0, 1\]"):
        mask_scenario(transactions, 7)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"detectors": ("iforest", "ecod")}, "Invalid detectors"),
        ({"detectors": ()}, "Invalid detectors"),
        ({"supervised_weight": 1.5}, "outside [0, 1]"),
        ({"blend_method": "max"}, "Unknown blend_method"),
        ({"alert_rate": 0.0}, "must be in (0, 1)"),
        ({"max_fit_rows": 10}, "too small"),
    ],
)
def test_hybrid_config_rejects_invalid(kwargs, fragment):
    with pytest.raises(ValueError) as raised:
        HybridConfig(**kwargs)

    assert fragment in str(raised.value)


def gaussian_features(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0.0, 1.0, (rows, 3)), columns=["a", "b", "c"])


def test_outlier_scorer_ranks_outliers_high():
    scorer = OutlierScorer(HybridConfig(), columns=["a", "b", "c"])
    scorer.fit(gaussian_features(2000, seed=1))
    probe = pd.DataFrame({"a": [0.0, 8.0], "b": [0.0, -8.0], "c": [0.0, 8.0]})

    raw = scorer.raw_scores(probe)
    combined = scorer.score(probe)

    assert set(raw) == {"iforest", "pca"}
    for values in raw.values():
        assert values[1] > values[0]
    assert combined[1] > combined[0]


def test_outlier_scorer_subsamples_large_fits():
    config = HybridConfig(max_fit_rows=500)
    scorer = OutlierScorer(config, columns=["a", "b", "c"]).fit(gaussian_features(3000, seed=2))

    percentiles = scorer.percentiles(scorer.raw_scores(gaussian_features(10, seed=3)))

    for values in percentiles.values():
        assert values.min() >= 0.0
        assert values.max() <= 500 / 501


def test_outlier_scorer_leaves_out_constant_columns():
    features = gaussian_features(500, seed=4).assign(constant=0.0)
    scorer = OutlierScorer(HybridConfig(), columns=["a", "b", "constant", "c"])

    scorer.fit(features)
    raw = scorer.raw_scores(features.assign(constant=1.0))

    assert scorer.fitted_columns == ["a", "b", "c"]
    for values in raw.values():
        assert np.isfinite(values).all()


def test_outlier_scorer_rejects_all_constant():
    features = pd.DataFrame({"a": [1.0] * 50, "b": [2.0] * 50})

    with pytest.raises(ValueError, match="constant"):
        OutlierScorer(HybridConfig(), columns=["a", "b"]).fit(features)


def test_outlier_scorer_requires_fit():
    scorer = OutlierScorer(HybridConfig(), columns=["a", "b", "c"])

    with pytest.raises(RuntimeError, match="not fitted"):
        scorer.raw_scores(gaussian_features(5, seed=0))


def test_outlier_scorer_rejects_nan_features():
    features = gaussian_features(200, seed=0)
    features.loc[3, "b"] = np.nan
    scorer = OutlierScorer(HybridConfig(), columns=["a", "b", "c"])

    with pytest.raises(ValueError, match=r"\['b'\] contain NaN"):
        scorer.fit(features)


def test_holdout_experiment_on_simulator():
    world = simulate(
        SimulationConfig(seed=5, n_customers=120, n_terminals=250, n_days=30, n_incidents=0)
    )
    transactions = world.transactions
    split = TimeSplit.ending_at(
        transactions["timestamp"].max(), train_days=10, delay_days=3, test_days=10
    )
    config = HybridConfig(max_fit_rows=2000)

    scores = run_holdout_experiment(
        transactions, 3, split, config, XGBoostParams(max_rounds=20, validation_days=3)
    )

    test_rows = int(in_window(transactions, split.test_start, split.test_end).sum())
    assert len(scores.is_fraud) == test_rows
    assert set(scores.raw) == {SUPERVISED, "iforest", "pca"}
    assert set(scores.percentiles) == {SUPERVISED, "iforest", "pca"}
    assert scores.in_scenario.any()
    assert not (scores.in_scenario & ~scores.is_fraud).any()
    train = transactions[in_window(transactions, split.train_start, split.train_end)]
    visible = int(((train["is_fraud"] == 1) & (train["fraud_scenario"] != 3)).sum())
    assert scores.train_frauds == visible

    summary = summarize_holdout(scores, config)

    assert summary["test_rows"] == test_rows
    assert summary["alerts"] == math.ceil(0.01 * test_rows)
    assert summary["test_scenario_frauds"] == int(scores.in_scenario.sum())
    for name in (SUPERVISED, UNSUPERVISED, BLENDED, "fisher_w0.50", "mean_w0.25"):
        recall = summary["metrics"][name]["scenario_recall"]
        assert 0.0 <= recall <= 1.0
