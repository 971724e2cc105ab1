"""MLflow model registry: versions, the champion and challenger aliases, rollback."""
