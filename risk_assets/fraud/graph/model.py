"""Heterogeneous GraphSAGE that scores every node of a customer/terminal/device graph."""

from __future__ import annotations

import io
from typing import Any

import torch
from torch import nn
from torch_geometric.nn import HeteroConv, SAGEConv

EdgeType = tuple[str, str, str]


class FeatureScaler(nn.Module):
    """Standardisation of one node type's features with stored mean and scale.

    The statistics are buffers, so they travel with the ``state_dict``.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def fit(self, x: torch.Tensor) -> None:
        """Set the mean and scale from rows of ``x``; constant columns get scale 1."""
        if len(x) == 0:
            return
        self.mean.copy_(x.mean(dim=0))
        scale = x.std(dim=0, unbiased=False)
        self.scale.copy_(torch.where(scale > 1e-6, scale, torch.ones_like(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the standardised features."""
        return (x - self.mean) / self.scale


class HeteroGraphSAGE(nn.Module):
    """GraphSAGE with one weight set per relation, returning one logit per node.

    Each node type's features are standardised (see ``fit_scalers``) and go through its
    own linear encoder. Every layer then applies
    a mean-aggregating ``SAGEConv`` per relation, sums the relations that reach a node type
    and adds the result to the node's previous state (a residual connection). A linear head
    per node type turns the final state into a fraud logit.

    Args:
        node_types: Node types, in a fixed order.
        edge_types: Relations as ``(source type, name, destination type)``.
        in_dims: Input feature count per node type.
        hidden_dim: Width of the hidden states.
        n_layers: Number of message-passing layers.
        dropout: Dropout probability applied after each layer during training.
    """

    def __init__(
        self,
        node_types: list[str],
        edge_types: list[EdgeType],
        in_dims: dict[str, int],
        hidden_dim: int = 32,
        n_layers: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        missing = [node_type for node_type in node_types if node_type not in in_dims]
        if missing:
            raise ValueError(f"in_dims has no input size for node types {missing}.")
        self.node_types = list(node_types)
        self.edge_types = [tuple(edge_type) for edge_type in edge_types]
        self.dropout = dropout
        self.scalers = nn.ModuleDict(
            {node_type: FeatureScaler(in_dims[node_type]) for node_type in node_types}
        )
        self.encoders = nn.ModuleDict(
            {node_type: nn.Linear(in_dims[node_type], hidden_dim) for node_type in node_types}
        )
        self.convs = nn.ModuleList(
            HeteroConv(
                {
                    edge_type: SAGEConv((hidden_dim, hidden_dim), hidden_dim, aggr="mean")
                    for edge_type in self.edge_types
                },
                aggr="sum",
            )
            for _ in range(n_layers)
        )
        self.heads = nn.ModuleDict(
            {node_type: nn.Linear(hidden_dim, 1) for node_type in node_types}
        )

    def fit_scalers(self, x_dicts: list[dict[str, torch.Tensor]]) -> None:
        """Fit each node type's feature standardisation on the given training graphs."""
        for node_type, scaler in self.scalers.items():
            rows = [x_dict[node_type] for x_dict in x_dicts if node_type in x_dict]
            if rows:
                scaler.fit(torch.cat(rows))

    def forward(
        self,
        x_dict: dict[str, torch.Tensor],
        edge_dict: dict[EdgeType, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """Return a 1-D tensor of logits for each node type.

        Args:
            x_dict: Node features per node type.
            edge_dict: Per relation, either an edge list of shape ``[2, n_edges]`` or a
                sparse adjacency of shape ``[n_destination, n_source]``. Relations the
                model was not built with are ignored.
        """
        hidden = {
            node_type: torch.relu(
                self.encoders[node_type](self.scalers[node_type](x_dict[node_type]))
            )
            for node_type in self.node_types
        }
        edges = {
            edge_type: edge_tensor
            for edge_type, edge_tensor in edge_dict.items()
            if edge_type in self.edge_types
        }
        for conv in self.convs:
            messages = conv(hidden, edges)
            updated = {}
            for node_type, state in hidden.items():
                message = messages.get(node_type)
                if message is not None:
                    state = state + torch.relu(message)
                updated[node_type] = nn.functional.dropout(
                    state, p=self.dropout, training=self.training
                )
            hidden = updated
        return {
            node_type: self.heads[node_type](state).squeeze(-1)
            for node_type, state in hidden.items()
        }


def model_spec(model: HeteroGraphSAGE, hidden_dim: int, n_layers: int) -> dict[str, Any]:
    """Return the JSON-able constructor arguments needed to rebuild ``model``."""
    return {
        "node_types": model.node_types,
        "edge_types": [list(edge_type) for edge_type in model.edge_types],
        "in_dims": {
            node_type: encoder.in_features for node_type, encoder in model.encoders.items()
        },
        "hidden_dim": hidden_dim,
        "n_layers": n_layers,
        "dropout": model.dropout,
    }


def state_dict_to_bytes(model: nn.Module) -> bytes:
    """Serialise the model's weights (its ``state_dict``, tensors only) with ``torch.save``."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def model_from_bytes(spec: dict[str, Any], data: bytes) -> HeteroGraphSAGE:
    """Rebuild a model from ``model_spec`` output and weights from ``state_dict_to_bytes``.

    The weights are read with ``torch.load(weights_only=True)``, which only accepts tensors
    and plain containers, so a tampered file cannot run code.
    """
    model = HeteroGraphSAGE(
        node_types=list(spec["node_types"]),
        edge_types=[tuple(edge_type) for edge_type in spec["edge_types"]],
        in_dims={key: int(value) for key, value in spec["in_dims"].items()},
        hidden_dim=int(spec["hidden_dim"]),
        n_layers=int(spec["n_layers"]),
        dropout=float(spec["dropout"]),
    )
    state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    model.load_state_dict(state)
    model.eval()
    return model
