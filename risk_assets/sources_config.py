"""Data-source settings from the environment, for the code location and the CLI.

``RISK_SOURCE_<TABLE>`` names a file, folder or ``s3://`` URI for a table, and
``RISK_MAPPING_<TABLE>`` its column mapping. Tables without a source come from the
simulator, sized by ``RISK_SIM_*`` variables.
"""

from __future__ import annotations

import os

from risk_assets.ingestion.sources import SOURCE_TABLES, RawDataResource

PREFIXES = ("RISK_SOURCE_", "RISK_MAPPING_")
SIMULATOR_VARIABLES = {
    "seed": "RISK_SIM_SEED",
    "n_customers": "RISK_SIM_CUSTOMERS",
    "n_terminals": "RISK_SIM_TERMINALS",
    "n_days": "RISK_SIM_DAYS",
    "start_date": "RISK_SIM_START_DATE",
    "drift_day": "RISK_SIM_DRIFT_DAY",
}


def raw_data_from_environment(environ: dict[str, str] | None = None) -> RawDataResource:
    """Build the raw-data resource from ``RISK_SOURCE_*`` and ``RISK_SIM_*`` variables."""
    env = os.environ if environ is None else environ
    known = {f"{prefix}{table.upper()}" for prefix in PREFIXES for table in SOURCE_TABLES}
    unknown = sorted(name for name in env if name.startswith(PREFIXES) and name not in known)
    if unknown:
        raise ValueError(
            f"environment variable(s) {unknown} name no known table; use "
            f"RISK_SOURCE_<TABLE> or RISK_MAPPING_<TABLE> with TABLE one of "
            f"{[table.upper() for table in SOURCE_TABLES]}"
        )

    sources, mappings = {}, {}
    for table in SOURCE_TABLES:
        source = env.get(f"RISK_SOURCE_{table.upper()}")
        if source:
            sources[table] = source
        mapping = env.get(f"RISK_MAPPING_{table.upper()}")
        if mapping:
            mappings[table] = mapping

    simulator = {}
    for field, variable in SIMULATOR_VARIABLES.items():
        value = env.get(variable)
        if value is None or value == "":
            continue
        if field == "start_date":
            simulator[field] = value
            continue
        try:
            simulator[field] = int(value)
        except ValueError:
            raise ValueError(
                f"{variable}={value!r} is not an integer; set a whole number"
            ) from None

    orphans = sorted(set(mappings) - set(sources))
    if orphans:
        raise ValueError(
            f"column mapping(s) set for {orphans} but no RISK_SOURCE_ file for them; "
            "set the source too or drop the mapping"
        )

    return RawDataResource(sources=sources, mappings=mappings, **simulator)
