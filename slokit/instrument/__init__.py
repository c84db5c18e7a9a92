"""Instrumentation: the metrics contract, and middleware that records it."""
