"""Root-cause analysis: service dependency graph, cause ranking, log templates and reports."""
