"""Reading a Bulk export back: every line re-parsed, every reference checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class


def references(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def read_export(out: Path) -> dict[str, list[dict[str, Any]]]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(out.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            # Re-parse with the R4B model of its own type: the line is a valid resource.
            model = get_fhir_model_class(raw["resourceType"]).model_validate(raw)
            assert model.get_resource_type() == path.stem
            by_type.setdefault(path.stem, []).append(raw)
    return by_type


def assert_references_resolve(by_type: dict[str, list[dict[str, Any]]]) -> None:
    present = {f"{kind}/{r['id']}" for kind, rows in by_type.items() for r in rows}
    canonicals = {r["url"] for r in by_type.get("Questionnaire", [])}
    for rows in by_type.values():
        for resource in rows:
            contained = {f"#{c['id']}" for c in resource.get("contained", [])}
            for reference in references(resource):
                if reference.startswith("#"):
                    assert reference in contained, f"{resource['id']} lacks contained {reference}"
                    continue
                assert reference in present, f"{resource['resourceType']} points at {reference}"
            if resource["resourceType"] == "QuestionnaireResponse":
                assert resource["questionnaire"].split("|")[0] in canonicals
