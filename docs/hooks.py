"""MkDocs hook: a page that holds ``<!-- generated: config-reference -->`` or ``<!--
generated: cli-reference -->`` gets the reference that docs/reference.py generates, from the
code as it is when the site is built (so the reference cannot drift from the program)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # docs/reference.py, beside this file

MARKERS = {"<!-- generated: config-reference -->": reference.config_reference,
           "<!-- generated: cli-reference -->": reference.cli_reference}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, generate in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
