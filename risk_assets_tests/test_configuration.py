"""Source settings from the environment and the command line reject typos by name."""

import pytest

from risk_assets.cli import main
from risk_assets.sources_config import raw_data_from_environment


def test_sources_read_from_environment():
    resource = raw_data_from_environment(
        {
            "RISK_SOURCE_TRANSACTIONS": "/data/tx.parquet",
            "RISK_MAPPING_TRANSACTIONS": "handbook_transactions",
            "RISK_SIM_CUSTOMERS": "50",
        }
    )
    assert resource.sources == {"transactions": "/data/tx.parquet"}
    assert resource.mappings == {"transactions": "handbook_transactions"}
    assert resource.n_customers == 50


def test_misspelled_source_variable_rejected():
    with pytest.raises(ValueError, match=r"\['RISK_SOURCE_TRANSACTION'\] name no known table"):
        raw_data_from_environment({"RISK_SOURCE_TRANSACTION": "/data/tx.csv"})


def test_mapping_without_source_rejected():
    with pytest.raises(ValueError, match=r"mapping\(s\) set for \['customers'\]"):
        raw_data_from_environment({"RISK_MAPPING_CUSTOMERS": "ibm_telco"})


def test_non_integer_simulator_size_rejected():
    with pytest.raises(ValueError, match="RISK_SIM_DAYS='ten' is not an integer"):
        raw_data_from_environment({"RISK_SIM_DAYS": "ten"})


def test_cli_rejects_unknown_table():
    with pytest.raises(SystemExit, match="unknown table 'transaction'"):
        main(["materialize", "--source", "transaction=/data/tx.csv"])


def test_cli_rejects_pair_without_equals():
    with pytest.raises(SystemExit, match="write TABLE=VALUE"):
        main(["materialize", "--mapping", "transactions"])
