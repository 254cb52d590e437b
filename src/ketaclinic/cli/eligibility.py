"""``ketaclinic screen --input FILE``: eligibility screening from a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ketaclinic.cli._output import fail, print_json
from ketaclinic.clinical.eligibility import EligibilityDecision, RuleClass, ScreeningInput, screen
from ketaclinic.clinical.overrides import Override
from ketaclinic.errors import InvalidInput, KetaclinicError


def describe_validation_error(exc: ValidationError, what: str) -> str:
    """Every problem, one per line, named by its field path so a nurse can find it."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return f"{what} is not valid:\n" + "\n".join(lines)


def parse_screening_file(path: Path) -> tuple[ScreeningInput, list[Override]]:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"Input file {path} does not exist.", field="input") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Input file {path} cannot be read: {exc}.", field="input") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            field="input",
        ) from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path} must hold one JSON object (see docs/screening-input.md).")
    raw_overrides = raw.pop("overrides", [])
    if not isinstance(raw_overrides, list):
        raise InvalidInput("'overrides' must be a list of override objects.", field="overrides")
    try:
        facts = ScreeningInput.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc, f"Screening input {path}")) from exc
    overrides: list[Override] = []
    for index, item in enumerate(raw_overrides):
        try:
            overrides.append(Override.model_validate(item))
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(exc, f"overrides[{index}]")) from exc
    return facts, overrides


def check_overrides_used(decision: EligibilityDecision, overrides: list[Override]) -> None:
    """Refuse an override naming a rule that did not fire (a typo, or a stale file): like the
    screening service, an override covers only a blocking finding or a relative contraindication
    found present."""
    fired = {
        f.rule_id
        for f in decision.findings
        if f.override is not None
        or f.blocks
        or (f.rule_class is RuleClass.RELATIVE and f.status == "present")
    }
    named = sorted({rule_id for o in overrides for rule_id in o.rule_ids} - fired)
    if named:
        raise InvalidInput(
            f"overrides name {', '.join(named)}, which did not fire in this screening "
            f"(overridable here: {', '.join(sorted(fired)) or 'none'}).",
            field="overrides",
        )


def register(app: typer.Typer) -> None:
    @app.command("screen")
    def screen_command(
        input_file: Annotated[
            Path, typer.Option("--input", help="Screening input JSON (docs/screening-input.md).")
        ],
    ) -> None:
        """Screen a patient for a ketamine or esketamine treatment; print the decision as JSON."""
        try:
            facts, overrides = parse_screening_file(input_file)
            decision = screen(facts, overrides)
            check_overrides_used(decision, overrides)
        except KetaclinicError as exc:
            fail(exc)
        payload = decision.model_dump(mode="json")
        payload["blocking_rule_ids"] = decision.blocking_rule_ids
        print_json(payload)
