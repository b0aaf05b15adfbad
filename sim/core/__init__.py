"""The simulation core: event queue, road network, occupancy, encounters, traffic, the model.

Imports neither pandas nor matplotlib, nor anything from ``sim.io``,
``sim.experiments`` or ``sim.viz`` (``tests/test_layers.py`` holds it to that).
"""
