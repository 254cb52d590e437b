"""``ketaclinic session-policy`` and ``ketaclinic alert-rules``: session thresholds with sources."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ketaclinic.cli._output import fail, print_json
from ketaclinic.clinical.policy import effective_policy
from ketaclinic.clinical.sessions.alerts import alert_rules
from ketaclinic.errors import InvalidInput, KetaclinicError


def _parse_overrides(pairs: list[str]) -> dict[str, float | None]:
    overrides: dict[str, float | None] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise InvalidInput(
                f"--set {pair!r}: write PARAMETER=VALUE (or PARAMETER=none).", field="set"
            )
        try:
            overrides[name.strip()] = None if raw.strip().lower() == "none" else float(raw)
        except ValueError:
            raise InvalidInput(f"--set {pair!r}: {raw!r} is not a number.", field=name) from None
    return overrides


def register(app: typer.Typer) -> None:
    @app.command("session-policy")
    def session_policy(
        kind: Annotated[
            str, typer.Option(help="Protocol kind, e.g. iv-racemic, intranasal-esketamine.")
        ],
        set_: Annotated[
            list[str] | None, typer.Option("--set", help="Try a clinic override: PARAMETER=VALUE.")
        ] = None,
    ) -> None:
        """Print the session thresholds for a protocol kind, each with its source and status."""
        try:
            policy, changes = effective_policy(kind, _parse_overrides(set_ or []))
        except KetaclinicError as error:
            fail(error)
        payload: dict[str, Any] = {
            "protocol_kind": policy.protocol_kind.value,
            "parameters": [
                {
                    "id": v.id,
                    "value": v.value,
                    "unit": v.unit,
                    "protected_by_rems": v.protected,
                    "overridden": v.overridden,
                    "verified": v.source.verified,
                    "source": v.source.short(),
                }
                for v in policy.values.values()
            ],
            "overrides": [c.model_dump(mode="json", exclude={"default_source"}) for c in changes],
        }
        print_json(payload)

    @app.command("alert-rules")
    def show_alert_rules() -> None:
        """Print the in-session alert rules with severity, suggested action and source."""
        print_json(
            [
                {
                    "id": r.id,
                    "title": r.title,
                    "severity": r.severity.value,
                    "conditions": [c.model_dump(exclude_none=True) for c in r.conditions],
                    "suggested_action": r.suggested_action,
                    "source": r.source.short(),
                }
                for r in alert_rules()
            ]
        )
