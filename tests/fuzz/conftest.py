"""Fuzz families of the public entry points: the quick profile runs with the suite, the long one on request.

* quick (default run): ``QUICK`` hypothesis examples per family;
* long (``pytest -m fuzz tests/fuzz``): ``GAMESOLVE_FUZZ_EXAMPLES`` examples per family
  (default 8000). ``GAMESOLVE_FUZZ_REPORT=path`` writes, at the end of the session, the
  cases run per family and their outcomes (result, InputError, SolveError, warnings) as JSON.

Tests marked ``fuzz`` are deselected (not collected as skips) unless the ``-m`` expression names the marker.
"""

from __future__ import annotations

import collections
import json
import os

import pytest


#: per family: Counter of outcomes ("result", "InputError", "SolveError", "warned", "compared")
OUTCOMES: dict = collections.defaultdict(collections.Counter)


def pytest_collection_modifyitems(config, items):
    if "fuzz" in (config.option.markexpr or ""):
        return
    long_profile = [item for item in items if item.get_closest_marker("fuzz") is not None]
    if long_profile:
        config.hook.pytest_deselected(items=long_profile)
        items[:] = [item for item in items if item.get_closest_marker("fuzz") is None]


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("GAMESOLVE_FUZZ_REPORT")
    if path and OUTCOMES:
        report = {fam: dict(c) for fam, c in sorted(OUTCOMES.items())}
        report["_total_cases"] = sum(c["cases"] for c in OUTCOMES.values())
        with open(path, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
