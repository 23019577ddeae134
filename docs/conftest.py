"""pytest's view of docs/: the Markdown pages are doctested, nothing else is.

The Sphinx configuration, the gallery scripts (run by ``make docs``, they need
matplotlib) and the built site are not tests and must not be imported as modules
by ``--doctest-modules``.
"""

collect_ignore = ["conf.py"]
collect_ignore_glob = ["gallery/*", "_build/*"]

# The doctests' temporary files go to a folder removed afterwards, also when
# pytest runs docs/ alone (see lazyarray/conftest.py; registered once).
from lazyarray.conftest import pytest_configure, pytest_unconfigure  # noqa: F401
