"""CRM export of the churn predictions: one row per active customer, fixed schema.

``CRM_EXPORT_SCHEMA`` is the contract with the CRM. Columns appear in this order with
these types; a change to it is a breaking change for the CRM import and needs a new
``CRM_EXPORT_SCHEMA_VERSION``.

| column | type | meaning |
|---|---|---|
| customer_id | string | customer identifier |
| segment | string | retention segment (see ``risk_assets.churn.segments``) |
| priority | int64 | 1 (work first) to 4 |
| churn_probability_1m | float64 | probability of churning within 1 month |
| churn_probability_3m | float64 | probability of churning within 3 months |
| churn_probability_6m | float64 | probability of churning within 6 months |
| expected_remaining_months | float64 | restricted mean remaining lifetime, months |
| remaining_lifetime_value | float64 | expected discounted margin over that horizon |
| value_at_risk | float64 | discounted margin that churn is expected to cost |
| monthly_charge | float64 | current monthly charge, in the source currency |
| tenure_months | float64 | months since signup |
| reason_1 .. reason_3 | string | features raising the risk most, ``feature=value`` |
| recommended_action | string | what the retention team should do |
| model_family | string | survival model that scored the customer |
| scored_at | string | UTC date of scoring, ISO 8601 ``YYYY-MM-DD`` |
| schema_version | string | ``CRM_EXPORT_SCHEMA_VERSION`` |
"""

from __future__ import annotations

import io

import pandas as pd

CRM_EXPORT_SCHEMA_VERSION = "1"

CRM_EXPORT_SCHEMA: tuple[tuple[str, str], ...] = (
    ("customer_id", "string"),
    ("segment", "string"),
    ("priority", "int64"),
    ("churn_probability_1m", "float64"),
    ("churn_probability_3m", "float64"),
    ("churn_probability_6m", "float64"),
    ("expected_remaining_months", "float64"),
    ("remaining_lifetime_value", "float64"),
    ("value_at_risk", "float64"),
    ("monthly_charge", "float64"),
    ("tenure_months", "float64"),
    ("reason_1", "string"),
    ("reason_2", "string"),
    ("reason_3", "string"),
    ("recommended_action", "string"),
    ("model_family", "string"),
    ("scored_at", "string"),
    ("schema_version", "string"),
)
CRM_EXPORT_COLUMNS = tuple(name for name, _ in CRM_EXPORT_SCHEMA)
CRM_EXPORT_HORIZONS = (1, 3, 6)


def build_crm_export(
    predictions: pd.DataFrame, model_family: str, scored_at: pd.Timestamp
) -> pd.DataFrame:
    """Shape segmented predictions into the CRM export schema.

    Args:
        predictions: Output of ``assign_segments`` joined with ``explain_risk``, for
            the customers to export. It needs the 1, 3 and 6 month probabilities.
        model_family: Family of the model that scored them.
        scored_at: Time of scoring; its UTC date is exported.

    Returns:
        Rows sorted by priority, then by value at risk (highest first),
        with exactly the columns and types of ``CRM_EXPORT_SCHEMA``.

    Raises:
        ValueError: An input column is missing.
    """
    derived = {"model_family", "scored_at", "schema_version"}
    missing = [name for name in CRM_EXPORT_COLUMNS if name not in derived]
    missing = [name for name in missing if name not in predictions.columns]
    if missing:
        raise ValueError(
            f"predictions lack CRM export columns {missing}; score with horizons "
            f"{CRM_EXPORT_HORIZONS} months and join the explanations and segments first"
        )
    export = predictions.copy()
    export["model_family"] = model_family
    export["scored_at"] = pd.Timestamp(scored_at).strftime("%Y-%m-%d")
    export["schema_version"] = CRM_EXPORT_SCHEMA_VERSION
    export = export.sort_values(
        ["priority", "value_at_risk"], ascending=[True, False], kind="stable"
    )
    export = export[list(CRM_EXPORT_COLUMNS)].reset_index(drop=True)
    return export.astype(dict(CRM_EXPORT_SCHEMA))


def validate_crm_export(frame: pd.DataFrame) -> None:
    """Check that ``frame`` matches ``CRM_EXPORT_SCHEMA`` exactly.

    Raises:
        ValueError: Columns differ in name or order, a type differs, a probability
            is outside [0, 1] or a customer id repeats.
    """
    if tuple(frame.columns) != CRM_EXPORT_COLUMNS:
        raise ValueError(
            f"CRM export columns {list(frame.columns)} differ from the schema "
            f"{list(CRM_EXPORT_COLUMNS)}; build the frame with build_crm_export"
        )
    for name, dtype in CRM_EXPORT_SCHEMA:
        if str(frame[name].dtype) != dtype:
            raise ValueError(
                f"CRM export column {name!r} is {frame[name].dtype}, expected {dtype}; "
                "build the frame with build_crm_export"
            )
    for horizon in CRM_EXPORT_HORIZONS:
        values = frame[f"churn_probability_{horizon}m"]
        if ((values < 0) | (values > 1)).any():
            raise ValueError(f"churn_probability_{horizon}m has values outside [0, 1]")
    if frame["customer_id"].duplicated().any():
        raise ValueError("CRM export repeats customer ids; it needs one row per customer")


def crm_export_files(frame: pd.DataFrame) -> dict[str, bytes]:
    """Serialize the export as CSV (UTF-8, header row) and Parquet.

    Returns:
        ``{"csv": bytes, "parquet": bytes}``.
    """
    validate_crm_export(frame)
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    return {"csv": frame.to_csv(index=False).encode("utf-8"), "parquet": parquet.getvalue()}
