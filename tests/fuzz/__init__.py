"""Fuzz families of the public entry points (see conftest.py)."""
