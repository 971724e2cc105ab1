"""Service dependency graph built from the ``service_topology`` table.

An edge ``caller -> callee`` means the caller depends on (calls) the callee, so a
fault travels against the edges: a slow callee makes its callers slow. The
candidate root causes of an alert on a service are therefore the service itself
and everything reachable from it along the edges.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from risk_assets.rca.errors import RcaError, UnknownServiceError

EDGE_COLUMNS = ["caller", "callee"]


def build_dependency_graph(topology: pd.DataFrame) -> nx.DiGraph:
    """Build a directed graph with an edge from each caller to each callee.

    Args:
        topology: Rows of ``caller`` and ``callee`` service names. Optional
            ``caller_kind`` and ``callee_kind`` columns become the node attribute
            ``kind``. Duplicate rows become one edge, and self-calls are dropped.

    Returns:
        The dependency graph. Call cycles are kept as they are.

    Raises:
        RcaError: A column is missing, the table is empty, a service name is empty, or
            a service is given two kinds.
    """
    missing = set(EDGE_COLUMNS) - set(topology.columns)
    if missing:
        raise RcaError(
            f"service_topology is missing columns {sorted(missing)}; "
            "expected one row per call with 'caller' and 'callee'."
        )
    if topology.empty:
        raise RcaError(
            "service_topology is empty; give one row per call with 'caller' and 'callee'."
        )
    names = topology[EDGE_COLUMNS].astype("string").apply(lambda column: column.str.strip())
    blank = (names.isna() | (names == "")).any(axis=1)
    if blank.any():
        raise RcaError(
            f"service_topology has {int(blank.sum())} rows with an empty caller or callee, "
            f"such as row {blank.idxmax()}; remove them or fill in the service name."
        )
    edges = topology
    _check_kinds(edges)
    graph = nx.DiGraph()
    for row in edges.itertuples(index=False):
        caller, callee = str(row.caller), str(row.callee)
        graph.add_node(caller)
        graph.add_node(callee)
        if caller != callee:
            graph.add_edge(caller, callee)
    for side in ("caller", "callee"):
        kind_column = f"{side}_kind"
        if kind_column in edges.columns:
            for name, kind in zip(edges[side], edges[kind_column], strict=True):
                if pd.notna(kind):
                    graph.nodes[str(name)]["kind"] = str(kind)
    return graph


def _check_kinds(topology: pd.DataFrame) -> None:
    """Raise RcaError when the topology gives one service two different kinds."""
    sides = [
        topology[[side, f"{side}_kind"]].set_axis(["service", "kind"], axis=1)
        for side in ("caller", "callee")
        if f"{side}_kind" in topology.columns
    ]
    if not sides:
        return
    kinds = pd.concat(sides).dropna(subset=["kind"])
    counts = kinds.astype(str).groupby("service")["kind"].nunique()
    conflicting = counts[counts > 1]
    if len(conflicting):
        service = conflicting.index[0]
        found = sorted(
            kinds.loc[kinds["service"].astype(str) == service, "kind"].astype(str).unique()
        )
        raise RcaError(
            f"service_topology gives {len(conflicting)} services more than one kind, such as "
            f"{service!r} as {found}; give each service one kind."
        )


def graph_to_edges(graph: nx.DiGraph) -> pd.DataFrame:
    """Return the graph as an edge list with the kind of each end.

    Returns:
        Columns ``caller``, ``callee``, ``caller_kind``, ``callee_kind``, sorted by caller
        and callee. Kinds are None where the topology gave none.
    """
    rows = [
        {
            "caller": caller,
            "callee": callee,
            "caller_kind": graph.nodes[caller].get("kind"),
            "callee_kind": graph.nodes[callee].get("kind"),
        }
        for caller, callee in graph.edges
    ]
    frame = pd.DataFrame(rows, columns=["caller", "callee", "caller_kind", "callee_kind"])
    return frame.sort_values(["caller", "callee"]).reset_index(drop=True)


def require_service(graph: nx.DiGraph, service: str) -> None:
    """Raise ``UnknownServiceError`` when ``service`` is not a node of ``graph``."""
    if service not in graph:
        raise UnknownServiceError(service, graph.nodes)


def candidate_causes(graph: nx.DiGraph, alerted_service: str) -> dict[str, int]:
    """Return the services that can cause an alert on ``alerted_service``.

    The candidates are the alerted service and every service it reaches through calls.
    Breadth-first search visits each service once, so call cycles terminate.

    Args:
        graph: Dependency graph from ``build_dependency_graph``.
        alerted_service: Service that raised the alert.

    Returns:
        Candidate name -> number of calls between the alerted service and it (0 for the
        alerted service itself), in breadth-first order.

    Raises:
        UnknownServiceError: The alerted service is not in the graph.
    """
    require_service(graph, alerted_service)
    return dict(nx.single_source_shortest_path_length(graph, alerted_service))
