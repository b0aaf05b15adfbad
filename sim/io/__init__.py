"""Files in and out: networks, run results and their summary, sweep folders, GeoJSON.

Reading the built-in network or GraphML, the run folder and ``run.json``, the
sweep folder's tables, atomic writes so that nothing half-written looks whole.
"""
