"""Tests of the churn logic without Dagster: features, models, predictions, export."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter, WeibullAFTFitter

from risk_assets.churn.customer_360 import build_customer_360, validate_survival_target
from risk_assets.churn.design import FeatureEncoder
from risk_assets.churn.export import (
    CRM_EXPORT_COLUMNS,
    CRM_EXPORT_SCHEMA,
    build_crm_export,
    crm_export_files,
    validate_crm_export,
)
from risk_assets.churn.metrics import (
    CensoringWeights,
    brier_score,
    calibration_table,
    cumulative_dynamic_auc,
    kaplan_meier,
)
from risk_assets.churn.predictions import (
    ValueSettings,
    explain_risk,
    predict_churn,
    probability_column,
)
from risk_assets.churn.segments import (
    HIGH_VALUE_HIGH_RISK,
    LOW_VALUE_LOW_RISK,
    SegmentSettings,
    assign_segments,
    offer_for,
)
from risk_assets.churn.survival_models import (
    COX,
    LOGLOGISTIC_AFT,
    WEIBULL_AFT,
    SurvivalModel,
    check_proportional_hazards,
    fit_aft,
    fit_cox,
)
from risk_assets.churn.training import TrainingResult, TrainingSettings, train_churn_models


def synthetic_customers(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """Customers whose churn time is Weibull with a scale set by contract and price.

    Month-to-month contracts and high charges shorten the lifetime; the region has no
    effect. Follow-up is censored uniformly between 6 and 60 months.
    """
    rng = np.random.default_rng(seed)
    contract = rng.choice(["month_to_month", "one_year", "two_year"], n, p=[0.5, 0.3, 0.2])
    charge = rng.uniform(20, 110, n)
    region = rng.choice(["north", "south"], n)
    log_scale = 3.6 - 1.4 * (contract == "month_to_month") + 0.8 * (contract == "two_year")
    log_scale = log_scale - 0.012 * (charge - 65)
    lifetime = np.exp(log_scale) * rng.weibull(1.2, n)
    follow_up = rng.uniform(6, 60, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "contract": contract,
            "monthly_charge": charge,
            "region": region,
            "tenure_months": np.minimum(lifetime, follow_up).round(2),
            "churned": (lifetime <= follow_up).astype(int),
        }
    )


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return build_customer_360(synthetic_customers())


@pytest.fixture(scope="module")
def trained(customers) -> TrainingResult:
    return train_churn_models(customers, TrainingSettings(parametric_families=(WEIBULL_AFT,)))


# --- input validation -------------------------------------------------------------


def test_negative_tenure_rejected():
    frame = synthetic_customers(30)
    frame.loc[4, "tenure_months"] = -2.0
    with pytest.raises(ValueError, match="negative 'tenure_months'.*C0004"):
        build_customer_360(frame)


def test_missing_event_column_rejected():
    frame = synthetic_customers(30).drop(columns="churned")
    with pytest.raises(ValueError, match="missing column 'churned'"):
        build_customer_360(frame)


def test_non_binary_event_rejected():
    frame = synthetic_customers(30)
    frame.loc[2, "churned"] = 2
    with pytest.raises(ValueError, match="other than 0 or 1.*C0002"):
        validate_survival_target(frame)


def test_missing_tenure_rejected():
    frame = synthetic_customers(30)
    frame.loc[1, "tenure_months"] = np.nan
    with pytest.raises(ValueError, match="missing or non-numeric 'tenure_months'"):
        validate_survival_target(frame)


def test_duplicate_customer_rejected():
    frame = synthetic_customers(30)
    frame.loc[3, "customer_id"] = frame.loc[2, "customer_id"]
    with pytest.raises(ValueError, match="duplicate 'customer_id'"):
        validate_survival_target(frame)


def test_training_rejects_too_few_events():
    frame = build_customer_360(synthetic_customers(200))
    frame["churned"] = 0
    frame.loc[:4, "churned"] = 1
    with pytest.raises(ValueError, match="at least 20 of each"):
        train_churn_models(frame)


def test_training_rejects_unknown_family(customers):
    with pytest.raises(ValueError, match="unknown parametric families"):
        train_churn_models(customers, TrainingSettings(parametric_families=("gompertz",)))


def test_value_settings_reject_bad_margin():
    with pytest.raises(ValueError, match="margin_rate=1.5"):
        ValueSettings(margin_rate=1.5).validate()


# --- customer 360 -----------------------------------------------------------------


def test_duration_proxy_excluded():
    frame = synthetic_customers(50)
    frame["total_charges"] = frame["tenure_months"] * frame["monthly_charge"]
    table = build_customer_360(frame)
    assert "total_charges" not in table.columns
    assert "monthly_charge" in table.columns


def test_activity_windows_end_at_churn():
    snapshot = pd.Timestamp("2025-04-01")
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "signup_date": [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01")],
            "tenure_months": [12.0, 15.0],
            "churned": [1, 0],
        }
    )
    a_end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=12 * 30.4375)
    rows = [
        # A: two complaints before churning, one event after it that must be ignored.
        ("A", a_end - pd.Timedelta(days=5), "complaint", 1.0),
        ("A", a_end - pd.Timedelta(days=40), "complaint", 1.0),
        ("A", a_end + pd.Timedelta(days=3), "complaint", 1.0),
        ("A", a_end - pd.Timedelta(days=50), "login", 1.0),
        # B: logins only in the last 30 days before the snapshot.
        ("B", snapshot - pd.Timedelta(days=2), "login", 1.0),
        ("B", snapshot - pd.Timedelta(days=10), "login", 1.0),
        ("B", snapshot - pd.Timedelta(days=59), "usage", 10.0),
        ("B", a_end - pd.Timedelta(days=60), "usage", 10.0),
    ]
    activity = pd.DataFrame(rows, columns=["customer_id", "timestamp", "event_type", "value"])
    table = build_customer_360(customers, activity, snapshot=snapshot).set_index("customer_id")
    assert table.loc["A", "complaints_60d"] == 2.0
    assert table.loc["A", "logins_30d"] == 0.0
    assert table.loc["B", "logins_30d"] == 2.0
    assert table.loc["B", "logins_change"] > 0
    assert table.attrs["history_coverage"]["customer_activity"] == 1.0


def test_uncovered_activity_left_out():
    customers = synthetic_customers(40)
    customers["signup_date"] = pd.Timestamp("2020-01-01")
    snapshot = pd.Timestamp("2025-06-01")
    # Activity only in the last 20 days: no customer's 60-day window is covered.
    activity = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "timestamp": snapshot - pd.Timedelta(days=5),
            "event_type": "login",
            "value": 1.0,
        }
    )
    table = build_customer_360(customers, activity, snapshot=snapshot)
    assert "logins_30d" not in table.columns
    assert table.attrs["history_coverage"]["customer_activity"] < 0.95


# --- models -----------------------------------------------------------------------


def test_cox_matches_lifelines(customers):
    encoder = FeatureEncoder.fit(customers, ["contract", "monthly_charge", "region"])
    design = encoder.transform(customers)
    model, fitter = fit_cox(design, customers["tenure_months"], customers["churned"])
    # lifelines interpolates between its baseline times, so compare at those times.
    times = fitter.baseline_cumulative_hazard_.index.to_numpy()[[3, 50, 200]]
    expected = fitter.predict_survival_function(design, times=times).T.to_numpy()
    np.testing.assert_allclose(model.survival(design, times), expected, atol=1e-9)


@pytest.mark.parametrize("family", [WEIBULL_AFT, LOGLOGISTIC_AFT])
def test_aft_matches_lifelines(customers, family):
    encoder = FeatureEncoder.fit(customers, ["contract", "monthly_charge"])
    design = encoder.transform(customers)
    model = fit_aft(family, design, customers["tenure_months"], customers["churned"])
    frame = design.assign(duration=customers["tenure_months"], event=customers["churned"])
    if family == WEIBULL_AFT:
        fitter = WeibullAFTFitter(penalizer=0.01).fit(frame, "duration", "event")
        times = np.array([1.0, 6.0, 24.0])
        expected = fitter.predict_survival_function(design, times=times).T.to_numpy()
        np.testing.assert_allclose(model.survival(design, times), expected, atol=1e-6)
    assert model.shape > 0


def test_model_json_round_trip(trained, customers):
    stored = json.loads(json.dumps(trained.to_dict()))
    restored = TrainingResult.from_dict(stored)
    design = trained.encoder.transform(customers)
    times = np.array([1.0, 3.0, 6.0, 100.0])
    np.testing.assert_array_equal(
        restored.model.survival(restored.encoder.transform(customers), times),
        trained.model.survival(design, times),
    )
    assert restored.settings == trained.settings


def test_unknown_family_rejected():
    with pytest.raises(ValueError, match="unknown survival model family 'gbm'"):
        SurvivalModel.from_dict({"family": "gbm", "columns": [], "coefficients": []})


def test_selection_finds_signal(trained, customers):
    assert set(trained.validation_concordance) == {COX, WEIBULL_AFT}
    best = max(trained.validation_concordance.values())
    assert trained.validation_concordance[trained.model.family] == best
    assert best > 0.7


def test_cox_tail_extends_past_follow_up(trained, customers):
    cox = trained.candidates[COX]
    design = trained.encoder.transform(customers.head(5))
    last = cox.baseline_times[-1]
    survival = cox.survival(design, np.array([last, last + 12.0]))
    assert cox.tail_hazard > 0
    assert np.all(survival[:, 1] < survival[:, 0])


def test_ph_violation_reported():
    rng = np.random.default_rng(11)
    n = 800
    group = rng.integers(0, 2, n)
    # Group 1 churns early or survives long (crossing hazards): not proportional.
    lifetime = np.where(group == 1, rng.weibull(0.5, n) * 10, rng.weibull(3.0, n) * 10)
    design = pd.DataFrame({"group": group.astype(float)})
    durations = np.minimum(lifetime, 30.0)
    events = (lifetime <= 30.0).astype(int)
    _, fitter = fit_cox(design, durations, events)
    report = check_proportional_hazards(fitter, design, durations, events)
    assert report["holds"] is False
    assert report["violations"] == ["group"]
    assert report["min_p_value"] < 0.01


# --- predictions ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored(trained, customers) -> pd.DataFrame:
    settings = ValueSettings(horizons_months=(1, 3, 6, 12), restriction_months=24)
    predictions = predict_churn(trained.model, trained.encoder, customers, settings)
    reasons = explain_risk(trained.model, trained.encoder, customers)
    return predictions.merge(reasons, on="customer_id")


def test_probabilities_in_unit_interval(scored):
    for horizon in (1, 3, 6, 12):
        values = scored[probability_column(horizon)]
        assert values.between(0, 1).all(), horizon
        assert values.notna().all(), horizon


@pytest.mark.parametrize("family", [COX, WEIBULL_AFT])
def test_probabilities_monotone_in_horizon(trained, customers, family):
    model = trained.candidates[family]
    settings = ValueSettings(horizons_months=(1, 2, 3, 6, 12, 24, 48))
    predictions = predict_churn(model, trained.encoder, customers, settings)
    matrix = predictions[[probability_column(h) for h in settings.horizons_months]].to_numpy()
    assert np.all(np.diff(matrix, axis=1) >= -1e-12)


def test_remaining_lifetime_bounded(scored):
    assert (scored["expected_remaining_months"] > 0).all()
    assert (scored["expected_remaining_months"] <= 24 + 1e-9).all()


def test_risk_lowers_remaining_lifetime(scored):
    ordered = scored.sort_values("risk_score")
    low, high = ordered.head(100), ordered.tail(100)
    assert low["expected_remaining_months"].mean() > high["expected_remaining_months"].mean()


def test_value_equals_discounted_margin_without_churn():
    model = SurvivalModel(family=WEIBULL_AFT, columns=["x"], coefficients=[0.0], intercept=50.0)
    encoder = FeatureEncoder.fit(pd.DataFrame({"x": [0.0, 1.0]}), ["x"])
    frame = pd.DataFrame(
        {"customer_id": ["a"], "tenure_months": [3.0], "monthly_charge": [100.0], "x": [0.5]}
    )
    settings = ValueSettings(restriction_months=12, margin_rate=0.5, annual_discount_rate=0.12)
    result = predict_churn(model, encoder, frame, settings).iloc[0]
    monthly = 1.12 ** (1 / 12) - 1
    expected = 50.0 * sum((1 + monthly) ** -k for k in range(1, 13))
    assert result["remaining_lifetime_value"] == pytest.approx(expected, rel=1e-6)
    assert result["value_at_risk"] == pytest.approx(0.0, abs=1e-6)
    assert result["expected_remaining_months"] == pytest.approx(12.0, rel=1e-6)


def test_negative_tenure_rejected_when_scoring(trained, customers):
    frame = customers.head(3).copy()
    frame.loc[frame.index[0], "tenure_months"] = -1.0
    with pytest.raises(ValueError, match="tenure_months must be a number >= 0"):
        predict_churn(trained.model, trained.encoder, frame)


def test_reasons_name_true_drivers(scored, customers):
    month_to_month = customers["contract"] == "month_to_month"
    reasons = scored.loc[month_to_month.to_numpy(), "reason_1"]
    share = reasons.str.startswith("contract=month_to_month").mean()
    assert share > 0.8
    expensive = (month_to_month & (customers["monthly_charge"] > 80)).to_numpy()
    second = scored.loc[expensive, "reason_2"]
    assert second.str.startswith("monthly_charge=").mean() > 0.8


def test_reasons_list_only_raising_factors(trained):
    frame = pd.DataFrame(
        {
            "customer_id": ["safe"],
            "contract": ["two_year"],
            "monthly_charge": [20.0],
            "region": ["north"],
            "tenure_months": [10.0],
            "churned": [0],
        }
    )
    reasons = explain_risk(trained.model, trained.encoder, frame).iloc[0]
    assert not reasons["reason_1"].startswith("contract")
    assert not reasons["reason_2"].startswith("monthly_charge")


# --- segments and export ----------------------------------------------------------


def test_segments_and_actions(scored):
    segmented = assign_segments(scored, SegmentSettings(high_risk_probability=0.2))
    top = segmented[segmented["segment"] == HIGH_VALUE_HIGH_RISK]
    bottom = segmented[segmented["segment"] == LOW_VALUE_LOW_RISK]
    assert len(top) > 0
    assert (top["churn_probability_6m"] >= 0.2).all()
    assert (top["priority"] == 1).all()
    assert top["recommended_action"].str.startswith("call").all()
    assert (bottom["recommended_action"] == "no action").all()


def test_offer_follows_factor():
    assert "12-month contract" in offer_for("contract")
    assert "tech-support" in offer_for("tech_support")
    assert "complaint" in offer_for("complaints_60d")


def test_segments_reject_unknown_column(scored):
    with pytest.raises(ValueError, match="no column 'churn_probability_9m'"):
        assign_segments(scored, SegmentSettings(risk_column="churn_probability_9m"))


def test_crm_export_schema(scored):
    segmented = assign_segments(scored)
    export = build_crm_export(segmented, "cox", pd.Timestamp("2025-05-01 13:00"))
    validate_crm_export(export)
    assert tuple(export.columns) == CRM_EXPORT_COLUMNS
    assert [str(dtype) for dtype in export.dtypes] == [dtype for _, dtype in CRM_EXPORT_SCHEMA]
    assert export["scored_at"].eq("2025-05-01").all()
    assert export["priority"].is_monotonic_increasing
    assert len(export) == len(scored)


def test_crm_export_files_round_trip(scored):
    export = build_crm_export(assign_segments(scored), "cox", pd.Timestamp("2025-05-01"))
    files = crm_export_files(export)
    from_parquet = pd.read_parquet(io.BytesIO(files["parquet"]))
    from_csv = pd.read_csv(io.BytesIO(files["csv"]), keep_default_na=False)
    assert tuple(from_parquet.columns) == CRM_EXPORT_COLUMNS
    assert tuple(from_csv.columns) == CRM_EXPORT_COLUMNS
    pd.testing.assert_frame_equal(from_parquet, export)
    assert from_csv["customer_id"].tolist() == export["customer_id"].tolist()


def test_crm_export_requires_horizons(scored):
    with pytest.raises(ValueError, match="churn_probability_1m"):
        build_crm_export(
            assign_segments(scored).drop(columns="churn_probability_1m"), "cox", pd.Timestamp(0)
        )


def test_crm_export_validation_rejects_reordered(scored):
    export = build_crm_export(assign_segments(scored), "cox", pd.Timestamp("2025-05-01"))
    with pytest.raises(ValueError, match="differ from the schema"):
        validate_crm_export(export[list(reversed(export.columns))])


# --- metrics ----------------------------------------------------------------------


def test_kaplan_meier_matches_lifelines(customers):
    times, values = kaplan_meier(customers["tenure_months"], customers["churned"])
    fitter = KaplanMeierFitter().fit(customers["tenure_months"], customers["churned"])
    expected = fitter.survival_function_at_times(times).to_numpy()
    np.testing.assert_allclose(values, expected, atol=1e-12)


def test_auc_and_brier_of_perfect_ranking():
    durations = np.array([1.0, 2.0, 3.0, 10.0, 12.0, 15.0])
    events = np.array([1, 1, 1, 0, 1, 0])
    weights = CensoringWeights(durations, events)
    truth = (durations <= 5).astype(float)
    assert cumulative_dynamic_auc(durations, events, truth, 5.0, weights) == 1.0
    assert cumulative_dynamic_auc(durations, events, 1 - truth, 5.0, weights) == 0.0
    assert brier_score(durations, events, 1 - truth, 5.0, weights) == 0.0
    assert brier_score(durations, events, truth, 5.0, weights) > 0.5


def test_calibration_table_shape(scored, customers):
    table = calibration_table(
        customers["tenure_months"], customers["churned"], scored["churn_probability_6m"], 6.0
    )
    assert len(table) == 10
    assert table["customers"].sum() == len(customers)
    assert table["observed"].between(0, 1).all()
    assert table["mean_predicted"].is_monotonic_increasing
