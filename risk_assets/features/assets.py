"""Feature tables as Dagster assets."""

import dagster as dg
import pandas as pd

from risk_assets.features.fraud_features import WINDOWS, build_transaction_features


@dg.asset(
    group_name="features",
    kinds={"pandas", "parquet"},
    description="Point-in-time features of every transaction: customer spending windows, "
    "terminal and device fraud rates with label delay, behaviour and sequence features.",
)
def transaction_features(
    context: dg.AssetExecutionContext, transactions: pd.DataFrame
) -> pd.DataFrame:
    features = build_transaction_features(transactions, WINDOWS)
    context.add_output_metadata(
        {
            "dagster/row_count": len(features),
            "customer_windows_days": str(WINDOWS.customer_days),
            "terminal_windows_days": str(WINDOWS.terminal_days),
            "label_delay_days": WINDOWS.label_delay_days,
        }
    )
    return features
