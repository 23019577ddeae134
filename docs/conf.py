"""Sphinx configuration of lazyarray's documentation site (``make docs``).

The pages are the Markdown files beside this one, read with MyST; the same files
are doctested by pytest (``setup.cfg``), so their examples are plain ``>>>``
sessions in fenced ``python`` blocks. The API reference is generated from the
docstrings (autodoc, autosummary, napoleon for numpydoc), and the gallery's
pictures are drawn at build time by running ``gallery/*.py`` (matplotlib's plot
directive). The site is built into ``_build/html`` and reads offline from there.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Import the package from this checkout, whether or not it is installed.
sys.path.insert(0, str(HERE.parent))

import lazyarray

project = "lazyarray"
author = "the lazyarray developers"
copyright = "the lazyarray developers"
release = version = lazyarray.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
# setup.cfg keeps pytest away from this file, the gallery scripts and the build.
exclude_patterns = ["_build", "gallery"]

# MyST: anchors for headings down to ###, so links like masked.md#cf-decoding
# resolve (and a wrong one fails the build).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# The API reference: api/*.md, one page per group of public names (grouped by
# hand, for readers), each with a summary table (autosummary) and the entries
# (autodoc); check_api_listed() below fails the build if a name is missing. A
# page per name would be 250 pages, and several times the build time.
autosummary_generate = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections say the types
# napoleon, not the numpydoc extension: it ships with Sphinx and forgives the
# small liberties of hand-written docstrings. Attributes become :ivar: fields, so
# a dataclass's fields, which autodoc also documents, are not described twice.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
napoleon_use_rtype = False
# "dtype" alone would be ambiguous (Array.dtype, Aggregation.dtype, ...).
napoleon_preprocess_types = True
napoleon_type_aliases = {"dtype": "numpy.dtype"}

# The gallery: each script runs at build time; png only, to keep the build fast.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (7.0, 4.0), "savefig.bbox": "tight"}

html_theme = "furo"
html_title = f"lazyarray {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
# Readable from the build folder, file:// included: no web fonts or CDN needed.
html_copy_source = False


def public_names() -> list[str]:
    """Names of ``lazyarray.__all__``, the public API."""
    return sorted(lazyarray.__all__)


def check_api_listed(app: Any, config: Any) -> None:
    """Fail the build unless api/*.md documents each public name of lazyarray once.

    The pages group the names for readers, by hand; this keeps them complete as
    names are added to ``lazyarray/__init__.py``.
    """
    documented: list[str] = []
    for page in sorted((HERE / "api").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        documented += re.findall(
            r"^\.\. auto(?:function|class|module):: (?:lazyarray\.)?(\w+)", text, re.MULTILINE
        )
    public = public_names()
    missing = sorted(set(public) - set(documented))
    unknown = sorted(set(documented) - set(public))
    twice = sorted({name for name in documented if documented.count(name) > 1})
    if missing or unknown or twice:
        raise RuntimeError(
            "docs/api/*.md must document each name of lazyarray.__all__ once: "
            f"missing {missing}, not public {unknown}, twice {twice}"
        )


def skip_public_members(app: Any, what: str, name: str, obj: object, skip: bool, options: Any):
    """Leave out of a module's page the members that have a page of their own.

    ``lazyarray.cf`` and ``lazyarray.testing`` are documented whole; a name they
    share with ``lazyarray`` (``CFEncoding``) would otherwise be described twice.
    """
    if what == "module" and any(obj is getattr(lazyarray, n) for n in lazyarray.__all__):
        return True
    return None


def setup(app: Any) -> None:
    """Register the API check and the member filter with Sphinx."""
    app.connect("config-inited", check_api_listed)
    app.connect("autodoc-skip-member", skip_public_members)
