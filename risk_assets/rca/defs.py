"""Dagster definitions of root-cause analysis, merged by ``risk_assets.definitions``.

The assets request the ``storage`` resource and the ``io_manager`` from the top level.
"""

import dagster as dg

from risk_assets.rca.assets import incident_reports, log_templates, service_dependency_graph

defs = dg.Definitions(assets=[service_dependency_graph, log_templates, incident_reports])
