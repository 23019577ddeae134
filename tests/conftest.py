"""Shared fixtures and hypothesis settings."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings

# Kernels this machine built ahead of time (lazyarray build-kernels) would change
# which code path the tests take: the tests see none, unless one sets its own
# (tests/test_kernels_aot.py). The folder is never created.
os.environ["LAZYARRAY_KERNELS_DIR"] = os.path.join(
    tempfile.gettempdir(), f"lazyarray-tests-without-kernels-{os.getpid()}")

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
