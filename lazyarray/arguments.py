"""Checks of the arguments that the public functions share, with the messages they give.

Each check returns the value in its plain Python type, or raises the error
the caller would raise itself, its message prefixed by the operation's name
(``"iter_chunks: size must be at least 1, found 0"``), so that what is wrong
and where is told the same way everywhere.

Examples
--------
>>> check_count("iter_chunks", "size", 4, 1)
4
>>> check_flag("iter_batches", "drop_last", True)
True
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["check_count", "check_flag", "check_optional_count"]


def _count(operation: str, name: str, value: Any, least: int, kind: str) -> int:
    """``value`` as an int, checked: an integer (``kind`` says what else was allowed)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{operation}: {name} must be {kind}, found {value!r}")
    if value < least:
        raise ValueError(f"{operation}: {name} must be at least {least}, found {value!r}")
    return int(value)


def check_count(operation: str, name: str, value: Any, least: int) -> int:
    """``value``, an integer of at least ``least`` (not a bool), as an int.

    Parameters
    ----------
    operation : str
        The public function checking, which starts the message.
    name : str
        The argument's name.
    value : object
        What was given.
    least : int
        The smallest value allowed.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        When ``value`` is not an integer (``True`` and ``2.0`` are not).
    ValueError
        When ``value`` is below ``least``.

    Examples
    --------
    >>> import numpy as np
    >>> check_count("iter_chunks", "size", np.int64(3), 1)
    3
    >>> check_count("iter_chunks", "size", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: iter_chunks: size must be at least 1, found 0
    >>> check_count("iter_chunks", "prefetch", True, 1)
    Traceback (most recent call last):
    ...
    TypeError: iter_chunks: prefetch must be an integer, found True
    """
    return _count(operation, name, value, least, "an integer")


def check_optional_count(operation: str, name: str, value: Any, least: int) -> int | None:
    """``value``, ``None`` or an integer of at least ``least``, as None or an int.

    As :func:`check_count`, for an argument whose default, ``None``, means
    "choose for me".

    Examples
    --------
    >>> check_optional_count("map_files", "processes", None, 0) is None
    True
    >>> check_optional_count("map_files", "processes", 2, 0)
    2
    >>> check_optional_count("map_files", "processes", 1.5, 0)
    Traceback (most recent call last):
    ...
    TypeError: map_files: processes must be an integer or None, found 1.5
    """
    if value is None:
        return None
    return _count(operation, name, value, least, "an integer or None")


def check_flag(operation: str, name: str, value: Any) -> bool:
    """``value``, ``True`` or ``False`` (a Python or numpy bool), as a bool.

    ``operation`` and ``name`` are as for :func:`check_count`. A ``TypeError``
    is raised when ``value`` is not a bool (``1`` and ``"yes"`` are not).

    Examples
    --------
    >>> import numpy as np
    >>> check_flag("map_files", "overwrite", np.bool_(False))
    False
    >>> check_flag("map_files", "overwrite", "yes")
    Traceback (most recent call last):
    ...
    TypeError: map_files: overwrite must be True or False, found 'yes'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{operation}: {name} must be True or False, found {value!r}")
    return bool(value)
