# One-command entry points. Every target installs into .venv first when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
DATASETS ?= $(CURDIR)/../shared/datasets
export DAGSTER_HOME
export MLFLOW_DISABLE_TELEMETRY := true
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: install demo test ui handbook benchmarks lint clean

install: $(STAMP)

# torch goes first, in its own pip call, so that the CPU build 2.13.0 is the one installed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\n' > $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m risk_assets.cli demo

test: install
	$(BIN)/pytest -n 2 --durations=15

ui: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

handbook: install $(DAGSTER_HOME)/dagster.yaml
	RISK_DATA_DIR=$(CURDIR)/.risk_data/handbook $(BIN)/python -m risk_assets.cli materialize \
		--source transactions=$(DATASETS)/fraud/handbook_transactions \
		--mapping transactions=handbook_transactions \
		--select '+key:fraud_model_evaluation' --train-start 2018-07-25

benchmarks: install
	$(BIN)/python benchmarks/fraud_handbook.py --data $(DATASETS)/fraud/handbook_transactions
	$(BIN)/python benchmarks/churn_telco.py --data $(DATASETS)/churn/ibm_telco/Telco-Customer-Churn.csv

lint: install
	$(BIN)/ruff check risk_assets risk_assets_tests benchmarks

clean:
	rm -rf .risk_data .dagster_home mlruns
