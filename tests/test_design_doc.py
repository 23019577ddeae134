"""docs/design.md stays true: every file it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design.md"


def named_paths() -> list[str]:
    """Paths in backticks that look like files or folders of the repository."""
    text = DESIGN.read_text()
    return sorted({p for p in re.findall(r"`([\w./]+/[\w./]*|[\w]+\.py)`", text)
                   if not p.startswith("../")})


def test_the_design_page_names_files_that_exist() -> None:
    paths = named_paths()
    assert len(paths) > 30  # the page does name the files, so the check means something
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert missing == []
