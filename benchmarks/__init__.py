"""Benchmarks that print figures (docs/performance.md): run them as `python -m benchmarks.<name>`
from the project root."""
