"""Every clinical entry in every data file carries its source (numbers are data with a source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ketaclinic.clinical.knowledge import Source

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "ketaclinic"
DATA_FILES = sorted(p for p in PACKAGE_ROOT.rglob("data/**/*.yaml"))


def _entries_without_source(node: Any, path: str, inherited: bool) -> list[str]:
    missing: list[str] = []
    if isinstance(node, dict):
        has_source = "source" in node or "sources" in node
        if "id" in node and not (has_source or inherited):
            missing.append(f"{path} (id={node['id']})")
        for key, value in node.items():
            if key in ("source", "sources"):
                continue
            missing += _entries_without_source(value, f"{path}.{key}", inherited or has_source)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            missing += _entries_without_source(item, f"{path}[{index}]", inherited)
    return missing


def _all_sources(node: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source":
                found.append(value)
            elif key == "sources":
                found.extend(value if isinstance(value, list) else [value])
            else:
                found += _all_sources(value)
    elif isinstance(node, list):
        for item in node:
            found += _all_sources(item)
    return found


@pytest.mark.parametrize("data_file", DATA_FILES, ids=lambda p: str(p.relative_to(PACKAGE_ROOT)))
def test_every_entry_has_a_source(data_file: Path) -> None:
    content = yaml.safe_load(data_file.read_text(encoding="utf-8"))
    assert _entries_without_source(content, data_file.name, inherited=False) == []
    for raw in _all_sources(content):
        Source.model_validate(raw)
