"""slokit: SLO specs to Prometheus rules, alerts and dashboards, and burn-rate driven runtime decisions."""

__version__ = "0.1.0"
