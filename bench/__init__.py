"""Benchmarks of the deploy (not tests): bench/deploy_scaling.py and its helpers."""
