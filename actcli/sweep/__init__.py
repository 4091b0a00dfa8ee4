"""Sweeps: a compare planned, executed on workers, and reported."""
