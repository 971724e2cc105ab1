"""File loaders on good and bad files; quarantine counts reconcile with rows read."""

from pathlib import Path

import pandas as pd
import pytest

from risk_assets.ingestion.errors import DataLoadError
from risk_assets.ingestion.loaders import load_table
from risk_assets_tests.support import dataset_path

GOOD_ROWS = [
    "TX_ID,WHEN,CARD,TERMINAL,AMOUNT,FRAUD",
    "1,2024-03-01 10:00:00,c1,t1,12.50,0",
    "2,2024-03-01 11:00:00,c2,t1,99.00,1",
    "3,2024-03-02 09:30:00,c1,t2,5.00,0",
]
MAPPING = """table: transactions
columns:
  transaction_id: TX_ID
  timestamp: WHEN
  customer_id: CARD
  terminal_id: TERMINAL
  amount: AMOUNT
  is_fraud: FRAUD
"""


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "bank.yaml"
    path.write_text(MAPPING)
    return path


def test_good_csv_loads_all_rows(tmp_path, mapping_file):
    result = load_table(write(tmp_path, "tx.csv", GOOD_ROWS), "transactions", str(mapping_file))
    assert len(result.accepted) == 3
    assert result.quarantine.empty
    assert result.accepted["amount"].sum() == pytest.approx(116.5)
    assert str(result.accepted["timestamp"].dtype) == "datetime64[ns]"


def test_parquet_with_canonical_names(tmp_path):
    frame = pd.DataFrame(
        {
            "transaction_id": [1, 2],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "customer_id": ["a", "b"],
            "terminal_id": ["t", "t"],
            "amount": [1.0, 2.0],
        }
    )
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path)
    result = load_table(path, "transactions")
    assert len(result.accepted) == 2
    assert result.accepted["is_fraud"].isna().all()


def test_bad_rows_quarantined_with_reasons(tmp_path, mapping_file):
    lines = GOOD_ROWS + [
        "4,2024-03-02 10:00:00,c3,t3,-5.00,0",
        "5,not a date,c3,t3,10.00,0",
        "6,2024-03-02 12:00:00,c3,t3,ten,0",
        "7,2024-03-02 13:00:00,,t3,10.00,0",
        "8,2024-03-02 14:00:00,c4,t3,10.00,7",
        "1,2024-03-02 15:00:00,c4,t3,10.00,0",
    ]
    result = load_table(write(tmp_path, "tx.csv", lines), "transactions", str(mapping_file))
    assert result.input_rows == 9
    assert len(result.accepted) == 3
    assert len(result.quarantine) == 6
    assert result.reconciles
    quarantine = result.quarantine
    reasons = dict(zip(quarantine["transaction_id"], quarantine["quarantine_reason"], strict=True))
    assert reasons["4"] == "amount: below minimum 0.0"
    assert reasons["5"].startswith("timestamp: not an ISO 8601 datetime")
    assert reasons["6"] == "amount: not a valid float"
    assert reasons["7"] == "customer_id: missing"
    assert reasons["8"] == "is_fraud: not one of [0, 1]"
    assert "duplicate key" in reasons["1"]
    assert list(result.quarantine["source_row"]) == [3, 4, 5, 6, 7, 8]


def test_missing_column_names_it(tmp_path, mapping_file):
    lines = [line.rsplit(",", 2)[0] + "," + line.rsplit(",", 1)[1] for line in GOOD_ROWS]
    path = write(tmp_path, "tx.csv", lines)
    with pytest.raises(DataLoadError, match=r"\['AMOUNT'\].*not in the file"):
        load_table(path, "transactions", str(mapping_file))


def test_missing_required_column_without_mapping(tmp_path):
    path = write(tmp_path, "tx.csv", ["transaction_id,timestamp", "1,2024-01-01"])
    with pytest.raises(DataLoadError, match="missing required column"):
        load_table(path, "transactions")


def test_empty_file_rejected(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataLoadError, match=r"empty\.csv: the file is empty"):
        load_table(path, "transactions")


def test_header_only_file_rejected(tmp_path, mapping_file):
    path = write(tmp_path, "header.csv", GOOD_ROWS[:1])
    with pytest.raises(DataLoadError, match="header but no rows"):
        load_table(path, "transactions", str(mapping_file))


def test_missing_file_rejected(tmp_path):
    with pytest.raises(DataLoadError, match=r"nope\.csv: file not found"):
        load_table(tmp_path / "nope.csv", "transactions")


def test_unknown_file_type_rejected(tmp_path):
    path = write(tmp_path, "tx.txt", GOOD_ROWS)
    with pytest.raises(DataLoadError, match=r"unknown file type \.txt"):
        load_table(path, "transactions")


def test_corrupt_parquet_rejected(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataLoadError, match=r"broken\.parquet as parquet"):
        load_table(path, "transactions")


def test_unknown_mapping_lists_shipped(tmp_path):
    path = write(tmp_path, "tx.csv", GOOD_ROWS)
    with pytest.raises(DataLoadError, match="handbook_transactions"):
        load_table(path, "transactions", "no_such_mapping")


def test_mapping_for_other_table_rejected(tmp_path):
    path = write(tmp_path, "tx.csv", GOOD_ROWS)
    with pytest.raises(DataLoadError, match="fills table 'customers'"):
        load_table(path, "transactions", "ibm_telco")


def test_handbook_mapping_loads_all_rows():
    folder = dataset_path("fraud/handbook_transactions")
    result = load_table(folder, "transactions", "handbook_transactions")
    assert result.input_rows == 565_322
    assert len(result.accepted) == 565_322
    assert int(result.accepted["is_fraud"].sum()) == 5_019
    assert result.accepted["customer_id"].nunique() == 4_966


def test_telco_mapping_loads_all_rows():
    path = dataset_path("churn/ibm_telco/Telco-Customer-Churn.csv")
    result = load_table(path, "customers", "ibm_telco")
    assert len(result.accepted) == 7_043
    assert result.quarantine.empty
    assert int(result.accepted["churned"].sum()) == 1_869
    assert "total_charges" in result.accepted
    assert result.accepted["tenure_months"].max() == 72


METRIC_HEADER = "timestamp,service,metric,value"


def test_iso_timestamps_of_mixed_precision_load(tmp_path):
    lines = [
        METRIC_HEADER,
        "2025-01-01 00:00:00.250,api,latency_ms,12",
        "2025-01-01 00:01:00,api,latency_ms,13",
        "2025-01-01T00:02:00Z,api,latency_ms,14",
        "2025-01-01T01:03:00+01:00,api,latency_ms,15",
    ]
    result = load_table(write(tmp_path, "m.csv", lines), "service_metrics")
    assert result.quarantine.empty
    assert list(result.accepted["timestamp"].dt.minute) == [0, 1, 2, 3]


def test_day_first_dates_are_quarantined(tmp_path):
    lines = [METRIC_HEADER, "05/01/2025 10:00,api,latency_ms,12", "13/01/2025,api,latency_ms,13"]
    result = load_table(write(tmp_path, "m.csv", lines), "service_metrics")
    assert result.accepted.empty
    assert result.quarantine["quarantine_reason"].str.contains("ISO 8601").all()


def test_epoch_numbers_as_timestamps_rejected(tmp_path):
    path = tmp_path / "m.parquet"
    pd.DataFrame(
        {"timestamp": [1736000000, 1736000060], "service": "api", "metric": "cpu", "value": 1.0}
    ).to_parquet(path)
    with pytest.raises(DataLoadError, match=r"'timestamp' contains numbers .*unit='s'"):
        load_table(path, "service_metrics")


def test_metric_rules_quarantine_with_reasons(tmp_path):
    lines = [
        METRIC_HEADER,
        "2025-01-01 00:00:00,api,latency_ms,inf",
        "2025-01-01 00:00:00,api,requests,-5",
        "2025-01-01 00:00:00,api,availability,101",
        "2025-01-01 00:00:00,api,cpu,0.5",
        "2025-01-01 00:00:00,api,cpu,0.7",
        "2025-01-01 00:00:00,api,error_rate,-0.1",
        "2025-01-01 00:00:00,db,requests,40",
    ]
    result = load_table(write(tmp_path, "m.csv", lines), "service_metrics")
    reasons = list(result.quarantine["quarantine_reason"])
    assert reasons[0] == "value: not finite"
    assert reasons[1] == "value: negative call count"
    assert reasons[2] == "value: share of calls outside 0..100"
    assert reasons[3].startswith("duplicate key")
    assert reasons[4] == "value: share of calls outside 0..100"
    assert list(result.accepted["metric"]) == ["cpu", "requests"]
    assert result.reconciles


def test_nan_text_is_a_missing_number(tmp_path):
    lines = [
        METRIC_HEADER,
        "2025-01-01 00:00:00,api,latency_ms,NaN",
        "2025-01-01 00:01:00,api,latency_ms,null",
        "2025-01-01 00:02:00,api,latency_ms,twelve",
    ]
    result = load_table(write(tmp_path, "m.csv", lines), "service_metrics")
    assert len(result.accepted) == 2
    assert result.accepted["value"].isna().all()
    assert list(result.quarantine["quarantine_reason"]) == ["value: not a valid float"]


def test_offsets_do_not_leak_between_rows(tmp_path):
    lines = [
        METRIC_HEADER,
        "2025-01-01T10:00:00+05:00,api,cpu,1",
        "2025-01-02T10:00:00,api,cpu,2",
        "2025-01-03 10:00:00,api,cpu,3",
    ]
    result = load_table(write(tmp_path, "m.csv", lines), "service_metrics")
    assert list(result.accepted["timestamp"].dt.hour) == [5, 10, 10]


def test_large_ids_keep_their_value(tmp_path):
    lines = [
        "TX_ID,WHEN,CARD,TERMINAL,AMOUNT,FRAUD",
        "9007199254740993,2024-03-01 10:00:00,c1,t1,1.00,0",
        "9007199254740992,2024-03-01 10:00:00,c1,t1,1.00,0",
        "99999999999999999999,2024-03-01 10:00:00,c1,t1,1.00,0",
    ]
    mapping = tmp_path / "bank.yaml"
    mapping.write_text(MAPPING)
    result = load_table(write(tmp_path, "tx.csv", lines), "transactions", str(mapping))
    assert list(result.accepted["transaction_id"]) == [9007199254740993, 9007199254740992]
    assert result.quarantine["quarantine_reason"].iloc[0].endswith("within the int64 range")


def test_infinite_amount_not_called_missing(tmp_path, mapping_file):
    lines = [GOOD_ROWS[0], "1,2024-03-01 10:00:00,c1,t1,inf,0"]
    result = load_table(write(tmp_path, "tx.csv", lines), "transactions", str(mapping_file))
    assert list(result.quarantine["quarantine_reason"]) == ["amount: not finite"]


def test_row_with_extra_field_rejected(tmp_path):
    lines = [METRIC_HEADER, "2025-01-01 00:00:00,api,cpu,1,extra"]
    with pytest.raises(DataLoadError, match="more fields than the header's 4"):
        load_table(write(tmp_path, "m.csv", lines), "service_metrics")


def test_reserved_column_name_rejected(tmp_path):
    lines = [METRIC_HEADER + ",source_row", "2025-01-01 00:00:00,api,cpu,1,7"]
    with pytest.raises(DataLoadError, match="'source_row'.*rename them"):
        load_table(write(tmp_path, "m.csv", lines), "service_metrics")
