"""Point-in-time training of the fraud graph GNN.

Training at cutoff ``T`` uses only transactions before ``T`` and only the fraud labels of
transactions before ``T - label_delay_days``. It builds snapshots at earlier cutoffs
``t_j = T - label_delay_days - horizon_days - j * snapshot_step_days``. The target of a node
in snapshot ``t_j`` is whether it takes part in a fraud in ``[t_j, t_j + horizon_days)``,
which is entirely known at ``T``. The model therefore learns to forecast fraud
participation from the graph as it looked at ``t_j``, and is applied to the graph at ``T``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score

from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.model import HeteroGraphSAGE, model_spec
from risk_assets.fraud.graph.snapshot import (
    NODE_FEATURES,
    GraphSnapshot,
    attach_targets,
    build_snapshot,
    edge_types_for,
    prepare_transactions,
    present_node_types,
)
from risk_assets.torch_threads import torch_threads

logger = logging.getLogger(__name__)


@dataclass
class TrainedGraphModel:
    """A fitted GNN with what is needed to score new snapshots and to rebuild it.

    Attributes:
        model: The fitted network, in eval mode.
        config: Settings it was trained with.
        cutoff: Training cutoff; no transaction at or after it was seen.
        spec: Constructor arguments (see ``model_spec``), JSON-able.
        metrics: Training summary: validation loss and AP per node type, epochs, node
            counts and seconds.
    """

    model: HeteroGraphSAGE
    config: GraphModelConfig
    cutoff: pd.Timestamp
    spec: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def node_types(self) -> list[str]:
        """Node types the model scores."""
        return list(self.spec["node_types"])


def hide_future_labels(
    prepared: pd.DataFrame, cutoff: pd.Timestamp, label_delay_days: int
) -> pd.DataFrame:
    """Drop transactions at or after ``cutoff`` and blank labels not yet known at it."""
    visible = prepared.loc[prepared["timestamp"] < cutoff].copy()
    label_cutoff = cutoff - pd.Timedelta(days=label_delay_days)
    visible.loc[visible["timestamp"] >= label_cutoff, "is_fraud"] = np.nan
    return visible


def snapshot_cutoffs(cutoff: pd.Timestamp, config: GraphModelConfig) -> list[pd.Timestamp]:
    """Return the training snapshot cutoffs for a training cutoff, most recent first."""
    latest = (
        pd.Timestamp(cutoff)
        - pd.Timedelta(days=config.label_delay_days)
        - pd.Timedelta(days=config.horizon_days)
    )
    step = pd.Timedelta(days=config.snapshot_step_days)
    return [latest - step * index for index in range(config.n_snapshots)]


def training_snapshots(
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp,
    config: GraphModelConfig,
    node_types: list[str] | None = None,
) -> list[GraphSnapshot]:
    """Build the labeled training snapshots for ``cutoff``, most recent first.

    Snapshots whose window contains no transaction are skipped.

    Raises:
        ValueError: If no snapshot has any transaction, so the history is too short.
    """
    cutoff = pd.Timestamp(cutoff)
    prepared = hide_future_labels(
        prepare_transactions(transactions), cutoff, config.label_delay_days
    )
    if node_types is None:
        node_types = present_node_types(prepared)
    snapshots = []
    for snapshot_cutoff in snapshot_cutoffs(cutoff, config):
        snapshot = build_snapshot(prepared, snapshot_cutoff, config, node_types)
        if sum(len(ids) for ids in snapshot.node_ids.values()) == 0:
            continue
        attach_targets(snapshot, prepared, config.horizon_days)
        snapshots.append(snapshot)
    if not snapshots:
        latest = snapshot_cutoffs(cutoff, config)[0]
        earliest = latest - pd.Timedelta(days=config.lookback_days)
        raise ValueError(
            f"No transactions to train on for cutoff {cutoff}: the latest training snapshot "
            f"needs transactions between {earliest} and {latest}. "
            "Pass a later cutoff or more history."
        )
    return snapshots


def train_graph_model(
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp | str,
    config: GraphModelConfig | None = None,
    warm_start: TrainedGraphModel | None = None,
) -> TrainedGraphModel:
    """Train the GNN on transactions before ``cutoff`` with the labels known at ``cutoff``.

    Args:
        transactions: Canonical transactions table; rows at or after ``cutoff`` are ignored.
        cutoff: Training time. Labels of transactions after ``cutoff - label_delay_days``
            are treated as unknown.
        config: Windows, network size and training settings; defaults when omitted.
        warm_start: A model trained at an earlier or equal cutoff with the same node types,
            whose weights start the training. Its weights only reflect labels known at its
            own cutoff, so the result stays point-in-time.

    Returns:
        The fitted model. With two or more snapshots the most recent one is held out, and
        the metrics report the model's average precision on it.

    Raises:
        ValueError: If the history is too short, no snapshot contains a fraud, or
            ``warm_start`` comes from a later cutoff or has other node types.
    """
    config = config or GraphModelConfig()
    with torch_threads(config.torch_threads):
        return _train(transactions, pd.Timestamp(cutoff), config, warm_start)


def _train(
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp,
    config: GraphModelConfig,
    warm_start: TrainedGraphModel | None,
) -> TrainedGraphModel:
    started = time.perf_counter()
    torch.manual_seed(config.seed)

    snapshots = training_snapshots(transactions, cutoff, config)
    n_positive = sum(
        int(snapshot.data[node_type].y.sum())
        for snapshot in snapshots
        for node_type in snapshot.node_ids
    )
    if n_positive == 0:
        raise ValueError(
            f"No known fraud in the training horizons before cutoff {cutoff}; the GNN needs "
            "labeled frauds. Pass a later cutoff or check that is_fraud is filled."
        )
    if len(snapshots) >= 2:
        validation, train = snapshots[0], snapshots[1:]
    else:
        logger.warning("Only one training snapshot before %s; training without validation.", cutoff)
        validation, train = None, snapshots

    node_types = list(snapshots[0].node_ids)
    edge_types = edge_types_for(node_types)
    model = HeteroGraphSAGE(
        node_types,
        edge_types,
        in_dims={node_type: len(NODE_FEATURES) for node_type in node_types},
        hidden_dim=config.hidden_dim,
        n_layers=config.n_layers,
        dropout=config.dropout,
    )
    if warm_start is not None:
        if warm_start.cutoff > cutoff or warm_start.node_types != node_types:
            raise ValueError(
                f"warm_start model (cutoff {warm_start.cutoff}, node types "
                f"{warm_start.node_types}) cannot start training at cutoff {cutoff} with node "
                f"types {node_types}; pass a model from an earlier cutoff on the same data."
            )
        model.load_state_dict(warm_start.model.state_dict())
    else:
        model.fit_scalers([snapshot.data.x_dict for snapshot in train])
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )

    epochs = config.epochs if warm_start is None else config.warm_start_epochs
    _fit(model, optimizer, train, epochs)

    metrics: dict[str, float] = {
        "epochs": float(epochs),
        "n_snapshots": float(len(snapshots)),
        "n_positive_targets": float(n_positive),
        "train_seconds": time.perf_counter() - started,
    }
    if validation is not None:
        with torch.no_grad():
            metrics["validation_loss"] = float(_snapshot_loss(model, validation))
        for node_type, value in evaluate_snapshot(model, validation).items():
            metrics[f"validation_ap_{node_type}"] = value
    for node_type in node_types:
        metrics[f"n_{node_type}_nodes"] = float(len(snapshots[0].node_ids[node_type]))
    logger.info("Trained fraud graph model at cutoff %s: %s", cutoff, metrics)
    return TrainedGraphModel(
        model=model,
        config=config,
        cutoff=cutoff,
        spec=model_spec(model, config.hidden_dim, config.n_layers),
        metrics=metrics,
    )


def _fit(
    model: HeteroGraphSAGE,
    optimizer: torch.optim.Optimizer,
    train: list[GraphSnapshot],
    epochs: int,
) -> None:
    """Run a fixed number of full-batch epochs over the training snapshots.

    There is no early stopping. On the handbook data both validation average precision
    and validation loss picked poor epochs for some seeds and cutoffs (after 10 to 40
    epochs, where the chosen epochs were otherwise 170 to 300), so the held-out snapshot
    only reports metrics.
    """
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        loss = sum(_snapshot_loss(model, snapshot) for snapshot in train)
        loss.backward()
        optimizer.step()
    model.eval()


def evaluate_snapshot(model: HeteroGraphSAGE, snapshot: GraphSnapshot) -> dict[str, float]:
    """Return average precision per node type whose targets contain both classes."""
    model.eval()
    with torch.no_grad():
        logits = model(snapshot.data.x_dict, snapshot.adjacency)
    scores = {}
    for node_type, node_logits in logits.items():
        target = snapshot.data[node_type].y.numpy()
        if 0 < target.sum() < len(target):
            scores[node_type] = float(average_precision_score(target, node_logits.numpy()))
    return scores


def _snapshot_loss(model: HeteroGraphSAGE, snapshot: GraphSnapshot) -> torch.Tensor:
    logits = model(snapshot.data.x_dict, snapshot.adjacency)
    losses = [
        torch.nn.functional.binary_cross_entropy_with_logits(
            node_logits, snapshot.data[node_type].y
        )
        for node_type, node_logits in logits.items()
        if node_logits.numel() > 0
    ]
    return torch.stack(losses).sum()
