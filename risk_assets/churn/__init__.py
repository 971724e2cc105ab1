"""Churn survival models, lifetime value, explanations, retention segments and export."""
