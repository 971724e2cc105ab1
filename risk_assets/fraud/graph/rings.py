"""Fraud rings: connected groups of high-risk customers, terminals and devices."""

from __future__ import annotations

import logging

import networkx as nx
import pandas as pd

from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.snapshot import prepare_transactions
from risk_assets.fraud.graph.training import hide_future_labels

logger = logging.getLogger(__name__)

RING_COLUMNS: tuple[str, ...] = (
    "ring_id",
    "cutoff",
    "size",
    "n_customers",
    "n_terminals",
    "n_devices",
    "members",
    "n_transactions",
    "total_amount",
    "n_known_frauds",
    "known_fraud_amount",
    "shared_terminals",
    "shared_devices",
    "mean_risk_score",
    "max_risk_score",
    "first_seen",
    "last_seen",
)


def find_fraud_rings(
    scores: pd.DataFrame,
    transactions: pd.DataFrame,
    config: GraphModelConfig | None = None,
    min_score: float = 0.5,
    include_known_fraud: bool = True,
    min_size: int = 3,
    min_customers: int = 2,
) -> pd.DataFrame:
    """Group high-risk entities that are linked by transactions into rings.

    An entity is high risk when its ``risk_score`` is at least ``min_score`` or, with
    ``include_known_fraud``, when it took part in a fraud already known at the cutoff.
    Two high-risk entities are linked by a transaction in the lookback window before the
    cutoff (customer to terminal, customer to device) when that transaction is a known fraud
    or both entities score at least ``min_score``. A genuine payment between two entities
    flagged only for past frauds does not link them, which keeps unrelated fraud cases apart.
    Each connected group of at least ``min_size`` entities and ``min_customers`` customers
    is a ring. The customer minimum drops a single taken-over account that spent at many
    terminals, which is account takeover rather than a ring.

    Args:
        scores: Node scores from ``score_nodes``. With several cutoffs, only the latest
            is used.
        transactions: Canonical transactions; rows at or after the cutoff are ignored and
            labels newer than ``cutoff - label_delay_days`` count as unknown.
        config: Supplies ``lookback_days`` and ``label_delay_days``; defaults when omitted.
        min_score: Score at or above which an entity is high risk, in [0, 1].
        include_known_fraud: Whether entities with a known fraud are high risk whatever
            their score.
        min_size: Smallest number of entities that counts as a ring (at least 2).
        min_customers: Smallest number of customers in a ring (at least 1).

    Returns:
        One row per ring with the columns in ``RING_COLUMNS``, largest total amount first.
        ``members`` lists ``"type:id"`` strings. ``shared_terminals`` and ``shared_devices``
        list the ring's terminals and devices used by two or more of its customers.

    Raises:
        ValueError: If ``min_score``, ``min_size`` or ``min_customers`` is out of range, or
            ``scores`` lacks columns.
    """
    if not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be in [0, 1], got {min_score}.")
    if min_size < 2:
        raise ValueError(f"min_size must be at least 2, got {min_size}; a ring links entities.")
    if min_customers < 1:
        raise ValueError(f"min_customers must be at least 1, got {min_customers}.")
    needed = ["cutoff", "node_type", "node_id", "risk_score", "n_known_frauds"]
    missing = [column for column in needed if column not in scores.columns]
    if missing:
        raise ValueError(f"scores is missing columns {missing}; pass the output of score_nodes.")
    config = config or GraphModelConfig()
    if scores.empty:
        return _empty_rings()

    cutoff = pd.Timestamp(scores["cutoff"].max())
    latest = scores.loc[scores["cutoff"] == cutoff]
    flagged = latest["risk_score"] >= min_score
    if include_known_fraud:
        flagged |= latest["n_known_frauds"] > 0
    risky = latest.loc[flagged]
    node_score = dict(zip(_node_keys(risky), risky["risk_score"], strict=True))

    prepared = hide_future_labels(
        prepare_transactions(transactions), cutoff, config.label_delay_days
    )
    window = prepared.loc[prepared["timestamp"] >= cutoff - pd.Timedelta(days=config.lookback_days)]
    window = window.assign(
        _customer="customer:" + window["customer_id"],
        _terminal="terminal:" + window["terminal_id"],
        _device="device:" + window["device_id"].fillna(""),
    )

    graph = nx.Graph()
    graph.add_nodes_from(node_score)
    ring_edges = []
    high_score = {key for key, score in node_score.items() if score >= min_score}
    known_fraud = window["is_fraud"] == 1
    for other in ("_terminal", "_device"):
        flagged_pair = window["_customer"].isin(node_score) & window[other].isin(node_score)
        scored_pair = window["_customer"].isin(high_score) & window[other].isin(high_score)
        rows = window.loc[flagged_pair & (known_fraud | scored_pair)]
        graph.add_edges_from(zip(rows["_customer"], rows[other], strict=True))
        ring_edges.append(rows.assign(_other=rows[other]))
    edges = pd.concat(ring_edges)

    rings = []
    for component in nx.connected_components(graph):
        n_customers = sum(member.startswith("customer:") for member in component)
        if len(component) < min_size or n_customers < min_customers:
            continue
        rings.append(_describe_ring(component, edges, node_score, cutoff))
    if not rings:
        return _empty_rings()
    result = pd.DataFrame(rings).sort_values("total_amount", ascending=False)
    result.insert(0, "ring_id", range(1, len(result) + 1))
    logger.info("Found %d fraud rings at cutoff %s", len(result), cutoff)
    return result[list(RING_COLUMNS)].reset_index(drop=True)


def _describe_ring(
    component: set[str],
    edges: pd.DataFrame,
    node_score: dict[str, float],
    cutoff: pd.Timestamp,
) -> dict[str, object]:
    inside = edges.loc[edges["_customer"].isin(component) & edges["_other"].isin(component)]
    # A transaction with both a ring terminal and a ring device appears once per link.
    transactions = inside.drop_duplicates(subset=["transaction_id"])
    frauds = transactions.loc[transactions["is_fraud"] == 1]
    customers_per_entity = inside.groupby("_other")["_customer"].nunique()
    shared = customers_per_entity.loc[customers_per_entity >= 2].index
    members = sorted(component)
    scores = [node_score[member] for member in members]
    return {
        "cutoff": cutoff,
        "size": len(members),
        "n_customers": sum(member.startswith("customer:") for member in members),
        "n_terminals": sum(member.startswith("terminal:") for member in members),
        "n_devices": sum(member.startswith("device:") for member in members),
        "members": members,
        "n_transactions": len(transactions),
        "total_amount": float(transactions["amount"].sum()),
        "n_known_frauds": len(frauds),
        "known_fraud_amount": float(frauds["amount"].sum()),
        "shared_terminals": sorted(key for key in shared if key.startswith("terminal:")),
        "shared_devices": sorted(key for key in shared if key.startswith("device:")),
        "mean_risk_score": float(sum(scores) / len(scores)),
        "max_risk_score": float(max(scores)),
        "first_seen": transactions["timestamp"].min(),
        "last_seen": transactions["timestamp"].max(),
    }


def _node_keys(scores: pd.DataFrame) -> list[str]:
    return (scores["node_type"].astype(str) + ":" + scores["node_id"].astype(str)).tolist()


def _empty_rings() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in RING_COLUMNS})
