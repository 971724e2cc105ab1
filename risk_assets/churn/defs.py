"""Dagster definitions of the churn domain, merged into the code location's Definitions."""

import dagster as dg

from risk_assets.churn.assets import (
    churn_crm_export,
    churn_model,
    churn_model_beats_chance,
    churn_model_evaluation,
    churn_model_proportional_hazards,
    churn_predictions,
    churn_predictions_valid,
    customer_360,
)

defs = dg.Definitions(
    assets=[customer_360, churn_model, churn_predictions, churn_crm_export, churn_model_evaluation],
    asset_checks=[
        churn_model_proportional_hazards,
        churn_predictions_valid,
        churn_model_beats_chance,
    ],
)
