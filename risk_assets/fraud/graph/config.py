"""Settings shared by graph building, GNN training and scoring."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Entity types that can become graph nodes, with the transaction column that names them.
NODE_COLUMNS: dict[str, str] = {
    "customer": "customer_id",
    "terminal": "terminal_id",
    "device": "device_id",
}

REQUIRED_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "terminal_id",
    "amount",
    "is_fraud",
)


@dataclass(frozen=True)
class GraphModelConfig:
    """Settings of the fraud graph: time windows, GNN size and training loop.

    Attributes:
        label_delay_days: Days after a transaction before its fraud label is known.
        lookback_days: Days of transactions before a cutoff that form the graph.
        horizon_days: Days after a cutoff in which a node's fraud is the training target.
        n_snapshots: Number of past cutoffs used as training graphs. The most recent one
            is held out for validation metrics when there are two or more.
        snapshot_step_days: Days between consecutive training cutoffs.
        hidden_dim: Width of the GNN hidden layers.
        n_layers: Number of message-passing layers.
        dropout: Dropout probability between layers.
        epochs: Number of full-batch training epochs.
        warm_start_epochs: Number of epochs when training starts from an earlier model.
        learning_rate: Adam learning rate.
        weight_decay: Adam weight decay (L2 penalty).
        seed: Seed for torch, so training is repeatable on one machine.
        torch_threads: CPU threads torch may use while training or scoring; the previous
            setting is restored afterwards. The default of one suits these small
            full-batch graphs when other assets run at the same time, because several
            threads per process then mostly wait on each other.
    """

    label_delay_days: int = 7
    lookback_days: int = 28
    horizon_days: int = 7
    n_snapshots: int = 3
    snapshot_step_days: int = 7
    hidden_dim: int = 32
    n_layers: int = 2
    dropout: float = 0.2
    epochs: int = 250
    warm_start_epochs: int = 60
    learning_rate: float = 0.01
    weight_decay: float = 1e-4
    seed: int = 0
    torch_threads: int = 1

    def __post_init__(self) -> None:
        for name in ("lookback_days", "horizon_days", "n_snapshots", "snapshot_step_days"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}; pass a positive int.")
        if self.label_delay_days < 0:
            raise ValueError(
                f"label_delay_days must be >= 0, got {self.label_delay_days}; "
                "pass 0 when labels are known immediately."
            )
        for name in ("hidden_dim", "n_layers", "epochs", "warm_start_epochs", "torch_threads"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}; pass a positive int.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}.")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}.")

    def to_dict(self) -> dict[str, float | int]:
        """Return the settings as a JSON-able dict (for MLflow params and metadata)."""
        return asdict(self)
