"""The SLO model and the readers for every input format."""

from slokit.spec.load import load
from slokit.spec.model import SLO, Alerting, EventsSLI, HttpSLI, LatencySLI, RawSLI, Spec, Tier
from slokit.spec.source import Problem, SpecError

__all__ = ["load", "SLO", "Alerting", "EventsSLI", "HttpSLI", "LatencySLI", "RawSLI", "Spec", "Tier", "Problem",
           "SpecError"]
