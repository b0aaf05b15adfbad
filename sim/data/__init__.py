"""The built-in network, derived from ``seeds/`` by ``seeds/build_network.py``."""
