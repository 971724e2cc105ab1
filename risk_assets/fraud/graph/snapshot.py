"""Point-in-time graph snapshots of customers, terminals and devices.

A snapshot at cutoff ``t`` contains only transactions with ``timestamp < t`` and at most
``lookback_days`` old. A fraud label is treated as known only when its transaction is older
than ``t - label_delay_days``, as it would be in production. Node features are the node's
own aggregates over that window, so a non-graph model can use the same inputs.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData
from torch_geometric.utils import to_torch_csr_tensor

from risk_assets.fraud.graph.config import NODE_COLUMNS, REQUIRED_COLUMNS, GraphModelConfig

logger = logging.getLogger(__name__)

NODE_FEATURES: tuple[str, ...] = (
    "log_n_tx",
    "log_n_tx_unlabeled",
    "log_amount_mean",
    "log_amount_max",
    "log_n_partners",
    "active_day_share",
    "log_n_known_fraud",
    "known_fraud_rate",
    "log_n_fraud_partners",
    "fraud_recency",
    "fraud_onset_recency",
    "log_fraud_amount_mean",
)

# Counterpart of each node type: the entity at the other end of its transactions.
PARTNER_TYPE: dict[str, str] = {
    "customer": "terminal",
    "terminal": "customer",
    "device": "customer",
}

# Entity pairs that become edges. Each pair gives a relation over all transactions and a
# second one over known frauds only, both with a reverse relation for message passing.
EDGE_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("customer", "terminal", "transacts_at"),
    ("customer", "device", "uses"),
)


@dataclass
class GraphSnapshot:
    """One graph as of a cutoff, with node id lookups.

    Attributes:
        cutoff: Only transactions strictly before this time are in the graph.
        node_ids: For each node type, the entity ids in node order.
        data: The torch-geometric graph: ``data[node_type].x`` contains the features in
            ``NODE_FEATURES`` order and ``data[node_type].y`` the optional target.
        adjacency: For each relation, the transposed adjacency matrix (destination by
            source) as a sparse CSR tensor. Message passing uses it in place of the edge
            list because sparse matrix products are much faster on CPU than scatter.
        features: For each node type, the same features as a DataFrame indexed by id.
    """

    cutoff: pd.Timestamp
    node_ids: dict[str, pd.Index]
    data: HeteroData
    features: dict[str, pd.DataFrame]
    adjacency: dict[tuple[str, str, str], torch.Tensor]


def edge_types_for(node_types: list[str]) -> list[tuple[str, str, str]]:
    """Return the relations between the given node types, reverse relations included."""
    relations: list[tuple[str, str, str]] = []
    for src, dst, name in EDGE_PAIRS:
        if src not in node_types or dst not in node_types:
            continue
        fraud_name = f"fraud_{name}"
        relations.append((src, name, dst))
        relations.append((dst, f"rev_{name}", src))
        relations.append((src, fraud_name, dst))
        relations.append((dst, f"rev_{fraud_name}", src))
    return relations


def prepare_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    """Validate a canonical transactions table and return a normalised copy.

    Ids become strings, ``device_id`` is added as missing when absent, and ``is_fraud`` becomes
    float with NaN for unlabeled rows.

    Raises:
        ValueError: If a required column is missing, timestamps are not datetimes, or an
            amount is negative or missing.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in transactions.columns]
    if missing:
        raise ValueError(
            f"transactions is missing columns {missing}; load it with "
            "load_table(source, 'transactions') so it has the canonical columns."
        )
    if not pd.api.types.is_datetime64_any_dtype(transactions["timestamp"]):
        raise ValueError(
            f"transactions.timestamp has dtype {transactions['timestamp'].dtype}; "
            "convert it with pd.to_datetime before building the graph."
        )
    amount = pd.to_numeric(transactions["amount"], errors="coerce")
    if amount.isna().any() or (amount < 0).any():
        bad = transactions.loc[amount.isna() | (amount < 0), "amount"].iloc[0]
        raise ValueError(
            f"transactions.amount must be a number >= 0, found {bad!r}; "
            "drop or repair those rows first."
        )
    columns = {
        "transaction_id": transactions["transaction_id"].to_numpy(),
        "timestamp": transactions["timestamp"].to_numpy(),
        "amount": amount.astype("float64").to_numpy(),
        "is_fraud": pd.to_numeric(transactions["is_fraud"], errors="coerce")
        .astype("float64")
        .to_numpy(),
    }
    frame = pd.DataFrame(columns, index=transactions.index)
    for column in NODE_COLUMNS.values():
        if column in transactions.columns:
            values = transactions[column]
            frame[column] = values.where(values.isna(), values.astype(str))
        else:
            frame[column] = pd.Series(pd.NA, index=transactions.index, dtype="object")
    if frame["customer_id"].isna().any() or frame["terminal_id"].isna().any():
        raise ValueError(
            "transactions has rows with a missing customer_id or terminal_id; "
            "every transaction needs both to place it in the graph."
        )
    return frame


def present_node_types(transactions: pd.DataFrame) -> list[str]:
    """Return the node types with at least one non-missing id in the transactions."""
    return [
        node_type
        for node_type, column in NODE_COLUMNS.items()
        if column in transactions.columns and transactions[column].notna().any()
    ]


def build_snapshot(
    prepared: pd.DataFrame,
    cutoff: pd.Timestamp,
    config: GraphModelConfig,
    node_types: list[str],
) -> GraphSnapshot:
    """Build the graph as of ``cutoff`` from a table returned by ``prepare_transactions``.

    Args:
        prepared: Transactions from ``prepare_transactions``.
        cutoff: Only transactions strictly before this time are used.
        config: Window lengths (``lookback_days``, ``label_delay_days``).
        node_types: Node types to build, in a fixed order, so every snapshot of one model
            has the same relations even when a type has no nodes.

    Returns:
        The snapshot, without targets (see ``attach_targets``).
    """
    cutoff = pd.Timestamp(cutoff)
    start = cutoff - pd.Timedelta(days=config.lookback_days)
    in_window = (prepared["timestamp"] >= start) & (prepared["timestamp"] < cutoff)
    window = prepared.loc[in_window].copy()
    label_cutoff = cutoff - pd.Timedelta(days=config.label_delay_days)
    window["known"] = (window["timestamp"] < label_cutoff) & window["is_fraud"].notna()
    window["known_fraud"] = window["known"] & (window["is_fraud"] == 1)

    data = HeteroData()
    node_ids: dict[str, pd.Index] = {}
    features: dict[str, pd.DataFrame] = {}
    for node_type in node_types:
        frame = _node_features(window, node_type, cutoff, config)
        node_ids[node_type] = frame.index
        features[node_type] = frame
        data[node_type].x = torch.tensor(frame.to_numpy(dtype=np.float32))
        data[node_type].num_nodes = len(frame)

    for src, dst, name in EDGE_PAIRS:
        if src not in node_types or dst not in node_types:
            continue
        pairs = window.dropna(subset=[NODE_COLUMNS[src], NODE_COLUMNS[dst]])
        all_edges = _edge_index(pairs, src, dst, node_ids)
        fraud_edges = _edge_index(pairs.loc[pairs["known_fraud"]], src, dst, node_ids)
        data[src, name, dst].edge_index = all_edges
        data[dst, f"rev_{name}", src].edge_index = all_edges.flip(0)
        data[src, f"fraud_{name}", dst].edge_index = fraud_edges
        data[dst, f"rev_fraud_{name}", src].edge_index = fraud_edges.flip(0)

    logger.debug(
        "Built graph snapshot at %s: %s",
        cutoff,
        {node_type: len(ids) for node_type, ids in node_ids.items()},
    )
    with warnings.catch_warnings():
        # torch warns that CSR support is beta on every construction; it works for the
        # sparse-dense products used here (torch 2.13).
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support", category=UserWarning)
        warnings.filterwarnings("ignore", message="Sparse invariant checks", category=UserWarning)
        adjacency = {
            edge_type: to_torch_csr_tensor(
                data[edge_type].edge_index.flip(0),
                size=(len(node_ids[edge_type[2]]), len(node_ids[edge_type[0]])),
            )
            for edge_type in data.edge_types
        }
    return GraphSnapshot(
        cutoff=cutoff, node_ids=node_ids, data=data, features=features, adjacency=adjacency
    )


def attach_targets(snapshot: GraphSnapshot, prepared: pd.DataFrame, horizon_days: int) -> None:
    """Set ``y`` on each node type: 1 if the node takes part in a fraud within the horizon.

    The horizon is ``[cutoff, cutoff + horizon_days)``. The caller must make sure that every
    label in it is known at training time, because unlabeled transactions count as genuine.
    """
    end = snapshot.cutoff + pd.Timedelta(days=horizon_days)
    future = prepared.loc[
        (prepared["timestamp"] >= snapshot.cutoff)
        & (prepared["timestamp"] < end)
        & (prepared["is_fraud"] == 1)
    ]
    for node_type, ids in snapshot.node_ids.items():
        fraud_ids = set(future[NODE_COLUMNS[node_type]].dropna())
        target = np.fromiter((node_id in fraud_ids for node_id in ids), dtype=np.float32)
        snapshot.data[node_type].y = torch.tensor(target)


def _node_features(
    window: pd.DataFrame, node_type: str, cutoff: pd.Timestamp, config: GraphModelConfig
) -> pd.DataFrame:
    key = NODE_COLUMNS[node_type]
    partner = NODE_COLUMNS[PARTNER_TYPE[node_type]]
    rows = window.dropna(subset=[key])
    if rows.empty:
        return pd.DataFrame(columns=list(NODE_FEATURES), dtype="float64").rename_axis(key)

    grouped = rows.groupby(key, sort=True)
    frame = pd.DataFrame(index=grouped.size().index)
    frame["log_n_tx"] = np.log1p(grouped.size())
    n_unlabeled = (~rows["known"]).groupby(rows[key]).sum()
    frame["log_n_tx_unlabeled"] = np.log1p(n_unlabeled)
    frame["log_amount_mean"] = np.log1p(grouped["amount"].mean())
    frame["log_amount_max"] = np.log1p(grouped["amount"].max())
    frame["log_n_partners"] = np.log1p(grouped[partner].nunique())
    days = rows["timestamp"].dt.floor("D")
    frame["active_day_share"] = days.groupby(rows[key]).nunique() / config.lookback_days

    n_known = grouped["known"].sum()
    frauds = rows.loc[rows["known_fraud"]]
    fraud_grouped = frauds.groupby(key)
    n_fraud = fraud_grouped.size().reindex(frame.index, fill_value=0)
    frame["log_n_known_fraud"] = np.log1p(n_fraud)
    frame["known_fraud_rate"] = (n_fraud / n_known.where(n_known > 0)).fillna(0.0)
    n_fraud_partners = fraud_grouped[partner].nunique().reindex(frame.index, fill_value=0)
    frame["log_n_fraud_partners"] = np.log1p(n_fraud_partners)
    days_since = (cutoff - fraud_grouped["timestamp"].max()).dt.total_seconds() / 86400.0
    recency = 1.0 - days_since.clip(upper=config.lookback_days) / config.lookback_days
    frame["fraud_recency"] = recency.reindex(frame.index, fill_value=0.0)
    days_since_first = (cutoff - fraud_grouped["timestamp"].min()).dt.total_seconds() / 86400.0
    onset = 1.0 - days_since_first.clip(upper=config.lookback_days) / config.lookback_days
    frame["fraud_onset_recency"] = onset.reindex(frame.index, fill_value=0.0)
    fraud_amount = np.log1p(fraud_grouped["amount"].mean())
    frame["log_fraud_amount_mean"] = fraud_amount.reindex(frame.index, fill_value=0.0)
    return frame[list(NODE_FEATURES)].astype("float64")


def _edge_index(
    pairs: pd.DataFrame, src: str, dst: str, node_ids: dict[str, pd.Index]
) -> torch.Tensor:
    unique = pairs[[NODE_COLUMNS[src], NODE_COLUMNS[dst]]].drop_duplicates()
    src_index = node_ids[src].get_indexer(unique.iloc[:, 0])
    dst_index = node_ids[dst].get_indexer(unique.iloc[:, 1])
    return torch.tensor(np.vstack([src_index, dst_index]), dtype=torch.long)
