"""Raw tables as Dagster assets, each with its quarantine table and a reconciliation check."""

import dagster as dg

from risk_assets.ingestion.schemas import get_schema
from risk_assets.ingestion.sources import SOURCE_TABLES, RawDataResource

DESCRIPTIONS = {
    "transactions": "Card transactions: who paid, where, from which device, how much, "
    "and the fraud label once known.",
    "customers": "Customers with plan, contract, tenure and churn outcome.",
    "customer_activity": "Customer events: logins, usage, support contacts, complaints, "
    "payment failures, plan changes.",
    "service_metrics": "Per-minute metrics of each platform service.",
    "service_logs": "Log lines of each platform service.",
    "service_topology": "Service call graph: the caller depends on the callee.",
    "incidents": "Known service incidents with their true root cause (simulator ground "
    "truth, or a file of labeled incidents).",
}


def _schema_markdown(table: str) -> str:
    lines = ["| column | type | nullable | rule |", "|---|---|---|---|"]
    for column in get_schema(table).columns:
        rule = []
        if column.min_value is not None:
            rule.append(f">= {column.min_value}")
        if column.max_value is not None:
            rule.append(f"<= {column.max_value}")
        if column.allowed is not None:
            rule.append(f"in {list(column.allowed)}")
        lines.append(f"| {column.name} | {column.kind} | {column.nullable} | {' '.join(rule)} |")
    return "\n".join(lines)


def build_raw_table_asset(table: str) -> dg.AssetsDefinition:
    """Build the multi-asset that loads ``table``, keeps rejects and checks the counts."""

    @dg.multi_asset(
        name=f"load_{table}",
        group_name="ingestion",
        outs={
            table: dg.AssetOut(
                description=DESCRIPTIONS[table],
                kinds={"pandas", "parquet"},
                metadata={"schema": dg.MetadataValue.md(_schema_markdown(table))},
            ),
            f"{table}_quarantine": dg.AssetOut(
                description=f"Rows of {table} that broke its contract, with the reason.",
                kinds={"pandas", "parquet"},
            ),
        },
        check_specs=[
            dg.AssetCheckSpec(
                "rows_reconcile",
                asset=table,
                description="Accepted plus quarantined rows equal the rows read.",
            )
        ],
    )
    def load_raw_table(context: dg.AssetExecutionContext, raw_data: RawDataResource):
        result = raw_data.load(table)
        origin = raw_data.describe(table)
        accepted, quarantined = len(result.accepted), len(result.quarantine)
        counts = {
            "source": origin,
            "input_rows": result.input_rows,
            "accepted_rows": accepted,
            "quarantined_rows": quarantined,
        }
        if quarantined:
            context.log.warning(
                f"{table}: {quarantined} of {result.input_rows} rows quarantined: "
                f"{result.reason_counts()}"
            )
        yield dg.Output(
            result.accepted,
            output_name=table,
            metadata={**counts, "dagster/row_count": accepted},
        )
        yield dg.Output(
            result.quarantine,
            output_name=f"{table}_quarantine",
            metadata={
                **counts,
                "dagster/row_count": quarantined,
                "reasons": dg.MetadataValue.json(result.reason_counts()),
            },
        )
        yield dg.AssetCheckResult(
            check_name="rows_reconcile",
            asset_key=table,
            passed=result.reconciles,
            metadata=counts,
            description=(
                f"{accepted} accepted + {quarantined} quarantined = {accepted + quarantined}"
                f" of {result.input_rows} rows read"
            ),
        )

    return load_raw_table


raw_table_assets = [build_raw_table_asset(table) for table in SOURCE_TABLES]
