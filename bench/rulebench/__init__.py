"""Helpers of bench/prometheus_rules.py: synthetic traffic, Sloth's rule shape, rule analysis, backfill, live run."""
