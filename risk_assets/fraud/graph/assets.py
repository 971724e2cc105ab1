"""Fraud graph assets: the GNN, per-node risk scores over time and fraud rings."""

import json
import tempfile
from pathlib import Path

import dagster as dg
import mlflow
import pandas as pd

from risk_assets.fraud.graph import mlflow_model
from risk_assets.fraud.graph.config import GraphModelConfig
from risk_assets.fraud.graph.model import model_from_bytes, state_dict_to_bytes
from risk_assets.fraud.graph.rings import find_fraud_rings
from risk_assets.fraud.graph.scoring import score_nodes, score_nodes_over_time, weekly_cutoffs
from risk_assets.fraud.graph.training import TrainedGraphModel, train_graph_model
from risk_assets.lineage import data_version
from risk_assets.metadata import markdown_table
from risk_assets.resources.storage import StorageResource
from risk_assets.resources.tracking import log_training_run

MODEL_NAME = "fraud_graph_sage"
# NOTE: the logged pyfunc imports risk_assets.fraud.graph, which is not on this list, so a
# serving environment built from these requirements alone must also install this project.
PIP_REQUIREMENTS = ["torch==2.13.0", "torch-geometric==2.8.1", "pandas==2.3.3", "numpy==2.4.6"]


class FraudGraphModelConfig(dg.Config):
    """Training cutoff, time windows and network settings of the fraud graph model.

    Attributes:
        cutoff: Training cutoff (ISO timestamp). Empty means the midnight after the last
            transaction.
        label_delay_days: Days after a transaction before its fraud label is known.
        lookback_days: Days of transactions before a cutoff that form the graph.
        horizon_days: Days after a cutoff in which fraud participation is the target.
        n_snapshots: Past cutoffs used as training graphs. The latest one is held out for
            the validation metrics.
        hidden_dim: Width of the hidden layers.
        epochs: Training epochs.
        seed: Seed for torch.
    """

    cutoff: str = ""
    label_delay_days: int = 7
    lookback_days: int = 28
    horizon_days: int = 7
    n_snapshots: int = 3
    hidden_dim: int = 32
    epochs: int = 250
    seed: int = 0

    def graph_config(self) -> GraphModelConfig:
        """Return the library settings that match this run configuration."""
        return GraphModelConfig(
            label_delay_days=self.label_delay_days,
            lookback_days=self.lookback_days,
            horizon_days=self.horizon_days,
            n_snapshots=self.n_snapshots,
            hidden_dim=self.hidden_dim,
            epochs=self.epochs,
            seed=self.seed,
        )


class GraphRiskScoresConfig(dg.Config):
    """Schedule of past cutoffs at which node scores are recomputed.

    Attributes:
        history_step_days: Days between historical scoring cutoffs. Each one trains its own
            model with the labels known then, so a smaller step costs more training time.
    """

    history_step_days: int = 7


class FraudRingsConfig(dg.Config):
    """Thresholds that decide which entities join a fraud ring.

    Attributes:
        min_score: Graph risk score at or above which an entity is high risk.
        include_known_fraud: Whether entities with a fraud already known are high risk.
        min_size: Smallest number of linked entities that forms a ring.
        min_customers: Smallest number of customers in a ring.
    """

    min_score: float = 0.5
    include_known_fraud: bool = True
    min_size: int = 3
    min_customers: int = 2


def default_cutoff(transactions: pd.DataFrame) -> pd.Timestamp:
    """Return the midnight after the last transaction, so every transaction is used."""
    if transactions.empty:
        raise ValueError("transactions is empty; materialize the transactions asset first.")
    return transactions["timestamp"].max().floor("D") + pd.Timedelta(days=1)


@dg.asset(
    group_name="fraud",
    kinds={"pytorch", "mlflow"},
    required_resource_keys={"mlflow", "storage"},
    description="Heterogeneous GraphSAGE over customers, terminals and devices, trained "
    "with the fraud labels known at the cutoff; weights stored as a state_dict and "
    "registered in MLflow.",
)
def fraud_graph_model(
    context: dg.AssetExecutionContext,
    config: FraudGraphModelConfig,
    transactions: pd.DataFrame,
) -> dict:
    # The mlflow resource is a function-style resource, so it cannot be a typed parameter,
    # and Dagster does not allow mixing the two styles: storage comes from context too.
    storage: StorageResource = context.resources.storage
    cutoff = pd.Timestamp(config.cutoff) if config.cutoff else default_cutoff(transactions)
    model_config = config.graph_config()
    context.log.info(f"training {MODEL_NAME} at cutoff {cutoff}")
    trained = train_graph_model(transactions, cutoff, model_config)

    weights = state_dict_to_bytes(trained.model)
    key = f"models/{MODEL_NAME}/{context.run_id}/state_dict.pt"
    uri = storage.write_bytes(key, weights)
    spec = {"model": trained.spec, "config": model_config.to_dict(), "cutoff": str(cutoff)}
    max_difference = _round_trip_difference(trained, storage.read_bytes(key), transactions)
    context.log.info(
        f"state_dict reloaded with weights_only=True; max score change {max_difference}"
    )

    version = data_version(transactions.loc[transactions["timestamp"] < cutoff])
    with tempfile.TemporaryDirectory() as folder:
        weights_path = Path(folder) / "state_dict.pt"
        weights_path.write_bytes(weights)
        spec_path = Path(folder) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        registered = log_training_run(
            context,
            model_name=MODEL_NAME,
            params={**model_config.to_dict(), "cutoff": str(cutoff)},
            metrics=trained.metrics,
            log_model=lambda: mlflow.pyfunc.log_model(
                name="model",
                python_model=mlflow_model.__file__,
                artifacts={
                    mlflow_model.STATE_DICT_ARTIFACT: str(weights_path),
                    mlflow_model.SPEC_ARTIFACT: str(spec_path),
                },
                pip_requirements=PIP_REQUIREMENTS,
            ),
            data_version=version,
        )

    context.add_output_metadata(
        {
            "cutoff": str(cutoff),
            "state_dict_uri": uri,
            "model_version": registered.version,
            "model_uri": registered.model_uri,
            "round_trip_max_score_change": max_difference,
            "data_version": version,
            **{name: float(value) for name, value in trained.metrics.items()},
        }
    )
    return {**spec, "state_dict_key": key, "registered": registered.as_dict()}


@dg.asset(
    group_name="fraud",
    kinds={"pytorch", "pandas"},
    description="Graph risk score of every customer, terminal and device at weekly cutoffs; "
    "each cutoff's scores come from a model trained only on data before it.",
)
def graph_risk_scores(
    context: dg.AssetExecutionContext,
    config: GraphRiskScoresConfig,
    storage: StorageResource,
    transactions: pd.DataFrame,
    fraud_graph_model: dict,
) -> pd.DataFrame:
    model_config = GraphModelConfig(**fraud_graph_model["config"])
    final_cutoff = pd.Timestamp(fraud_graph_model["cutoff"])
    trained = TrainedGraphModel(
        model=model_from_bytes(
            fraud_graph_model["model"], storage.read_bytes(fraud_graph_model["state_dict_key"])
        ),
        config=model_config,
        cutoff=final_cutoff,
        spec=fraud_graph_model["model"],
    )
    history_cutoffs = [
        cutoff
        for cutoff in weekly_cutoffs(transactions, model_config, config.history_step_days)
        if cutoff < final_cutoff
    ]
    context.log.info(f"scoring {len(history_cutoffs)} past cutoffs and {final_cutoff}")
    history, _ = score_nodes_over_time(transactions, history_cutoffs, model_config)
    current = score_nodes(trained, transactions, final_cutoff)
    scores = pd.concat([history, current], ignore_index=True)

    skipped = len(history_cutoffs) - history["cutoff"].nunique()
    if skipped:
        context.log.warning(f"{skipped} past cutoffs had too little history or no known fraud")
    summary = (
        current.groupby("node_type")["risk_score"].describe(percentiles=[0.5, 0.99]).reset_index()
    )
    context.add_output_metadata(
        {
            "dagster/row_count": len(scores),
            "n_cutoffs": int(scores["cutoff"].nunique()),
            "first_cutoff": str(scores["cutoff"].min()),
            "latest_cutoff": str(final_cutoff),
            "latest_scores": markdown_table(summary),
        }
    )
    return scores


@dg.asset(
    group_name="fraud",
    kinds={"networkx", "pandas"},
    description="Connected groups of high-risk customers, terminals and devices at the "
    "latest cutoff, with members, size, amounts and evidence.",
)
def fraud_rings(
    context: dg.AssetExecutionContext,
    config: FraudRingsConfig,
    transactions: pd.DataFrame,
    graph_risk_scores: pd.DataFrame,
    fraud_graph_model: dict,
) -> pd.DataFrame:
    rings = find_fraud_rings(
        graph_risk_scores,
        transactions,
        GraphModelConfig(**fraud_graph_model["config"]),
        min_score=config.min_score,
        include_known_fraud=config.include_known_fraud,
        min_size=config.min_size,
        min_customers=config.min_customers,
    )
    context.log.info(f"found {len(rings)} fraud rings")
    preview = rings[["ring_id", "size", "n_customers", "n_terminals", "n_devices"]].head(10)
    amounts = rings[["total_amount", "n_known_frauds"]].head(10)
    context.add_output_metadata(
        {
            "dagster/row_count": len(rings),
            "largest_ring_size": int(rings["size"].max()) if len(rings) else 0,
            "total_amount": float(rings["total_amount"].sum()) if len(rings) else 0.0,
            "top_rings": markdown_table(pd.concat([preview, amounts], axis=1)),
        }
    )
    return rings


def _round_trip_difference(
    trained: TrainedGraphModel, weights: bytes, transactions: pd.DataFrame
) -> float:
    """Return the largest score change after reloading ``weights`` (0.0 when exact)."""
    reloaded = TrainedGraphModel(
        model=model_from_bytes(trained.spec, weights),
        config=trained.config,
        cutoff=trained.cutoff,
        spec=trained.spec,
    )
    before = score_nodes(trained, transactions)["risk_score"]
    after = score_nodes(reloaded, transactions)["risk_score"]
    difference = float((before - after).abs().max()) if len(before) else 0.0
    if difference > 1e-6:
        raise RuntimeError(
            f"Reloaded {MODEL_NAME} weights change scores by {difference}; the saved "
            "state_dict does not match the trained model."
        )
    return difference
