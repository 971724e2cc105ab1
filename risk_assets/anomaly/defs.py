"""Dagster definitions of anomaly detection, merged by ``risk_assets.definitions``.

The assets request the ``io_manager`` from the top level and read the upstream
``transaction_features`` and ``service_metrics`` assets.
"""

import dagster as dg

from risk_assets.anomaly.assets import service_metric_anomalies, transaction_outlier_scores

defs = dg.Definitions(assets=[transaction_outlier_scores, service_metric_anomalies])
