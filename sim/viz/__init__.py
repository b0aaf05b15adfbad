"""Seeing runs and sweeps: maps and charts, sweep figures, animation and the app.

Needs the ``plot`` extra (the app: ``app``). Never imports ``sim.experiments``:
what an analysis computes reaches a figure as an argument.
"""
