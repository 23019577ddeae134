"""Objects of other libraries recognised without importing those libraries.

Importing Zarr takes about a third of a second, a third of ``import
lazyarray``: every process that unpickles a graph or runs a worker would pay
it. An object can only be a ``zarr.Array`` if Zarr has been imported, so
the test asks Zarr only then; the modules that read or write Zarr import it
when they first do. numpy loads ``numpy.ma`` on first use too (about 25 ms
and 1.4 MB): a masked array exists only once it is loaded, so the tests for
masked arrays on the paths every evaluation takes leave it unloaded.

Examples
--------
>>> import numpy as np, zarr
>>> is_zarr_array(zarr.create_array({}, shape=(2,), dtype="f4")), is_zarr_array(np.zeros(2))
(True, False)
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["is_masked_array", "is_masked_constant", "is_zarr_array", "unmasked_data"]


def is_zarr_array(obj: Any) -> bool:
    """Whether ``obj`` is a ``zarr.Array`` (Zarr left unimported if it is not loaded)."""
    # getattr: another thread may be importing Zarr, its module not yet
    # holding the class (and then no instance of it exists yet).
    array_class = getattr(sys.modules.get("zarr"), "Array", None)
    return array_class is not None and isinstance(obj, array_class)


#: numpy.ma.core, once found complete (every evaluation asks, several times).
_core: Any = None


def _masked_core() -> Any:
    """``numpy.ma.core`` once it defines ``MaskedArray``, else ``None``.

    Looked up in ``numpy.ma.core``, where the class is defined, not in
    ``numpy.ma``: another thread may be importing numpy.ma, which is then
    in ``sys.modules`` without its names (a partially initialised module).
    Until the class exists, no masked array does.
    """
    global _core
    if _core is None and "numpy.ma.core" in sys.modules:
        core = sys.modules["numpy.ma.core"]
        if hasattr(core, "MaskedConstant"):  # defined after MaskedArray: the module is whole
            _core = core
    return _core


def is_masked_array(obj: Any) -> bool:
    """Whether ``obj`` is a ``numpy.ma.MaskedArray`` (numpy.ma left unimported if it is not loaded).

    >>> import numpy as np
    >>> is_masked_array(np.zeros(2)), is_masked_array(np.ma.masked_array([1.0]))
    (False, True)
    """
    if type(obj) is np.ndarray:  # the common case, in one step
        return False
    core = _core or _masked_core()
    return core is not None and isinstance(obj, core.MaskedArray)


def unmasked_data(array: Any) -> Any:
    """The data of a masked array (``numpy.ma.getdata``), or ``array`` itself.

    >>> import numpy as np
    >>> unmasked_data(np.ma.masked_array([1.0, 2.0], mask=[0, 1])).tolist()
    [1.0, 2.0]
    """
    if type(array) is np.ndarray:
        return array
    core = _masked_core()
    return core.getdata(array) if core is not None and isinstance(array, core.MaskedArray) else array


def is_masked_constant(obj: Any) -> bool:
    """Whether ``obj`` is ``numpy.ma.masked`` (numpy.ma left unimported if it is not loaded)."""
    core = _masked_core()
    return core is not None and isinstance(obj, core.MaskedConstant)
