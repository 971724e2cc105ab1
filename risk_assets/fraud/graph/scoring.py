"""Per-node graph risk scores and their point-in-time join onto transactions."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from risk_assets.fraud.graph.config import NODE_COLUMNS, GraphModelConfig
from risk_assets.fraud.graph.snapshot import build_snapshot, prepare_transactions
from risk_assets.fraud.graph.training import (
    TrainedGraphModel,
    hide_future_labels,
    train_graph_model,
)
from risk_assets.torch_threads import torch_threads

logger = logging.getLogger(__name__)

SCORE_COLUMNS: tuple[str, ...] = (
    "cutoff",
    "node_type",
    "node_id",
    "risk_score",
    "n_transactions",
    "n_known_frauds",
)

# Transaction feature column filled from each node type's score.
RISK_FEATURE_COLUMNS: dict[str, str] = {
    node_type: f"{node_type}_graph_risk" for node_type in NODE_COLUMNS
}


def score_nodes(
    trained: TrainedGraphModel,
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Score every customer, terminal and device seen in the lookback window before a cutoff.

    Args:
        trained: Model from ``train_graph_model``.
        transactions: Canonical transactions; rows at or after ``cutoff`` are ignored and
            labels newer than ``cutoff - label_delay_days`` are treated as unknown.
        cutoff: Scoring time; defaults to the model's training cutoff. It must not be
            earlier than that, because the model was fitted with labels known later.

    Returns:
        One row per node with the columns in ``SCORE_COLUMNS``. ``risk_score`` is the
        model's probability that the node takes part in a fraud within ``horizon_days``
        after the cutoff.

    Raises:
        ValueError: If ``cutoff`` is before the model's training cutoff.
    """
    cutoff = trained.cutoff if cutoff is None else pd.Timestamp(cutoff)
    if cutoff < trained.cutoff:
        raise ValueError(
            f"Scoring cutoff {cutoff} is before the model's training cutoff {trained.cutoff}; "
            "scores would use labels from after the cutoff. Train a model at or before "
            "the scoring cutoff (see score_nodes_over_time)."
        )
    config = trained.config
    prepared = hide_future_labels(
        prepare_transactions(transactions), cutoff, config.label_delay_days
    )
    snapshot = build_snapshot(prepared, cutoff, config, trained.node_types)
    trained.model.eval()
    with torch.no_grad(), torch_threads(config.torch_threads):
        logits = trained.model(snapshot.data.x_dict, snapshot.adjacency)

    frames = []
    for node_type, ids in snapshot.node_ids.items():
        features = snapshot.features[node_type]
        frames.append(
            pd.DataFrame(
                {
                    "cutoff": cutoff,
                    "node_type": node_type,
                    "node_id": ids.astype(str),
                    "risk_score": torch.sigmoid(logits[node_type]).numpy().astype("float64"),
                    "n_transactions": _count_from_log(features["log_n_tx"]),
                    "n_known_frauds": _count_from_log(features["log_n_known_fraud"]),
                }
            )
        )
    scores = pd.concat(frames, ignore_index=True) if frames else _empty_scores()
    return scores[list(SCORE_COLUMNS)]


def score_nodes_over_time(
    transactions: pd.DataFrame,
    cutoffs: list[pd.Timestamp] | pd.DatetimeIndex,
    config: GraphModelConfig | None = None,
) -> tuple[pd.DataFrame, dict[pd.Timestamp, TrainedGraphModel]]:
    """Train a model at each cutoff and score the nodes there, with no look-ahead.

    Each model starts from the weights of the model at the previous cutoff, which saw only
    older labels, so later trainings run ``warm_start_epochs`` only. A cutoff without enough
    history or without a known fraud is skipped with a warning, so early cutoffs of a short
    table give no scores instead of failing the whole run.

    Returns:
        The concatenated scores (``SCORE_COLUMNS``) and the model trained at each cutoff
        that produced scores.
    """
    config = config or GraphModelConfig()
    frames = []
    models: dict[pd.Timestamp, TrainedGraphModel] = {}
    previous: TrainedGraphModel | None = None
    for cutoff in sorted(pd.Timestamp(value) for value in cutoffs):
        try:
            trained = train_graph_model(transactions, cutoff, config, warm_start=previous)
        except ValueError as error:
            logger.warning("No graph scores at cutoff %s: %s", cutoff, error)
            continue
        models[cutoff] = trained
        previous = trained
        frames.append(score_nodes(trained, transactions, cutoff))
    if not frames:
        return _empty_scores(), models
    return pd.concat(frames, ignore_index=True), models


def weekly_cutoffs(
    transactions: pd.DataFrame, config: GraphModelConfig, step_days: int = 7
) -> pd.DatetimeIndex:
    """Return midnight cutoffs every ``step_days`` from the first trainable day onwards.

    The first cutoff leaves room, after the label delay and the horizon, for two training
    snapshots: one to train on and one held out for validation metrics. The last cutoff is
    the midnight after the last transaction.
    """
    if transactions.empty:
        return pd.DatetimeIndex([])
    first = transactions["timestamp"].min().floor("D")
    last = transactions["timestamp"].max().floor("D") + pd.Timedelta(days=1)
    warmup = pd.Timedelta(
        days=config.label_delay_days + config.horizon_days + config.snapshot_step_days + 1
    )
    start = first + warmup
    if start > last:
        return pd.DatetimeIndex([last])
    cutoffs = pd.date_range(last, start, freq=f"-{step_days}D")
    return cutoffs.sort_values()


def add_graph_risk_features(transactions: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Join the latest node scores from before each transaction onto it.

    Each transaction gets, per node type, the ``risk_score`` of its customer, terminal and
    device from the most recent scoring cutoff at or before its timestamp. A score at
    cutoff ``c`` uses only transactions before ``c``, so no score depends on the
    transaction it is joined to or on anything later. A transaction before the first cutoff,
    or whose entity was not in that cutoff's graph, gets NaN.

    Args:
        transactions: Canonical transactions table.
        scores: Output of ``score_nodes`` or ``score_nodes_over_time``.

    Returns:
        A copy of ``transactions`` in its original row order with ``customer_graph_risk``,
        ``terminal_graph_risk`` and ``device_graph_risk`` added.

    Raises:
        ValueError: If a required column is missing from either table.
    """
    missing = [column for column in SCORE_COLUMNS[:4] if column not in scores.columns]
    if missing:
        raise ValueError(f"scores is missing columns {missing}; pass the output of score_nodes.")
    if "timestamp" not in transactions.columns:
        raise ValueError("transactions has no timestamp column; pass the canonical table.")

    result = transactions.copy()
    order = pd.RangeIndex(len(result))
    left = pd.DataFrame({"_row": order, "timestamp": result["timestamp"].to_numpy()})
    for node_type, feature in RISK_FEATURE_COLUMNS.items():
        column = NODE_COLUMNS[node_type]
        if column not in result.columns:
            result[feature] = float("nan")
            continue
        node_scores = scores.loc[
            scores["node_type"] == node_type, ["cutoff", "node_id", "risk_score"]
        ]
        node_scores = pd.DataFrame(
            {
                "cutoff": pd.to_datetime(node_scores["cutoff"]).to_numpy(),
                "_key": node_scores["node_id"].astype("string").to_numpy(),
                feature: node_scores["risk_score"].astype("float64").to_numpy(),
            }
        )
        keyed = left.assign(_key=result[column].astype("string").to_numpy())
        keyed = keyed.dropna(subset=["_key"]).sort_values("timestamp")
        node_scores = node_scores.sort_values("cutoff")
        joined = pd.merge_asof(
            keyed,
            node_scores,
            left_on="timestamp",
            right_on="cutoff",
            by="_key",
            direction="backward",
            allow_exact_matches=True,
        )
        values = pd.Series(float("nan"), index=order)
        values.loc[joined["_row"].to_numpy()] = joined[feature].to_numpy()
        result[feature] = values.to_numpy()
    return result


def _count_from_log(values: pd.Series) -> np.ndarray:
    # Snapshot features store counts as log1p(count); this recovers the integer count.
    return np.rint(np.expm1(values.to_numpy(dtype="float64"))).astype("int64")


def _empty_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cutoff": pd.Series(dtype="datetime64[ns]"),
            "node_type": pd.Series(dtype="object"),
            "node_id": pd.Series(dtype="object"),
            "risk_score": pd.Series(dtype="float64"),
            "n_transactions": pd.Series(dtype="int64"),
            "n_known_frauds": pd.Series(dtype="int64"),
        }
    )
