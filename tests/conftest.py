"""Shared fixtures and hypothesis settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# `make test` (and CI) draws the same examples on every run (derandomize), fewer
# of them to keep it within its time; the rare cases each property needs are
# forced by fixed-seed parametrized tests beside it, not left to the draw.
# `make test-all` draws at random, more.
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True, max_examples=15
)
settings.load_profile(os.environ.get("LAZYARRAY_HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "default"))
