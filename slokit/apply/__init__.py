"""Side effects on running systems (Alertmanager silences, ...); generation itself stays pure."""
