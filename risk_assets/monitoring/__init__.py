"""Daily scoring, drift and performance monitoring, and drift-triggered retraining."""
