"""Experiments over many runs: sweeps, designs, executors, statistics, sensitivity analysis.

Sweep files and designs, local worker processes or a Dask cluster, per-point
statistics, re-running one run, SALib analyses and the EMA Workbench adapter.
"""
