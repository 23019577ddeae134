"""pytest plugin for the doctests: temporary files go to a folder removed afterwards.

Docstrings, ``README.md`` and ``docs/*.md`` show real files, created where
``tempfile`` says (``tempfile.mkdtemp()``, ``TemporaryDirectory()``). So
that running them leaves nothing in the system's temporary directory, every
doctest runs with ``tempfile.tempdir`` (and ``TMPDIR``, for processes it
starts) pointing into a folder of this session's own:

1. at configuration, the folder is made, and a plugin object is registered
   with pytest (a plugin's hooks apply to every item, where this conftest's
   own would apply only to items under ``lazyarray/``);
2. around the *call* of each doctest item (after its fixtures are set up,
   so pytest's own ``tmp_path`` base is never moved), ``tempfile`` is
   pointed at a fresh subfolder, which is removed when the doctest ends;
3. at the end of the session the folder is removed with whatever processes
   started by doctests left in it.

Each pytest process (each pytest-xdist worker too) has its own folder. It
applies when ``lazyarray/`` is among the paths pytest runs (as in ``make
test``, or ``pytest lazyarray docs README.md``): the conftest of a folder
is loaded only then. Tests under ``tests/`` use ``tmp_path`` instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from _pytest.doctest import DoctestItem

#: The name the plugin object is registered under.
PLUGIN_NAME = "lazyarray-doctest-tempdir"


class DoctestTempdir:
    """Points ``tempfile`` at a subfolder of ``root`` while each doctest runs."""

    def __init__(self, root: str):
        self.root = root

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        if not isinstance(item, DoctestItem):
            return (yield)
        folder = tempfile.mkdtemp(prefix="doctest-", dir=self.root)
        saved = tempfile.tempdir, os.environ.get("TMPDIR")
        tempfile.tempdir = folder
        # Processes a doctest starts (pools may outlive it) get the session's
        # folder, which lives as long as they may.
        os.environ["TMPDIR"] = self.root
        try:
            return (yield)
        finally:
            tempfile.tempdir = saved[0]
            if saved[1] is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = saved[1]
            shutil.rmtree(folder, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        root = tempfile.mkdtemp(prefix="lazyarray-doctests-")
        config.pluginmanager.register(DoctestTempdir(root), PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if isinstance(plugin, DoctestTempdir):
        config.pluginmanager.unregister(plugin, PLUGIN_NAME)
        shutil.rmtree(plugin.root, ignore_errors=True)
