"""The Mesa agents: patrols and blocking positions, helicopters, villagers, civilian vehicles.

Each receives what it needs (the clock, the roads, who is where, the encounter
rules) when it is made, and reports back through callbacks; none calls into the model.
"""
