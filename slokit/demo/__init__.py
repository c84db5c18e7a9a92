"""`slokit demo`: an instrumented service burning its budget, degrading itself and recovering (docs/demo.md)."""

from slokit.demo.story import ScaledClock, run

__all__ = ["ScaledClock", "run"]
