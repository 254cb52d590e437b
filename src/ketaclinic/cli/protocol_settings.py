"""``ketaclinic protocol-settings``: the clinic's protocol settings (show, set, revert).

The command-line twin of the protocol settings on the clinic policy page. ``set`` and ``revert``
write to the configured database through the same service, recording who (``--by``), when and why.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ketaclinic.errors import InvalidInput, KetaclinicError

from ._database import migrated_session_factory
from ._output import fail, print_json


def _parse_value(raw: str) -> Any:
    """A number, a list of numbers ("0.5,0.75,1"), a choice word, or "none" (no value)."""
    text = raw.strip()
    if text.lower() == "none":
        return None
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    try:
        return json.loads(text) if text[:1].isdigit() or text[:1] in "-." else text
    except json.JSONDecodeError:
        return text


def _lines_json(protocol_id: str | None) -> list[dict[str, Any]]:
    from ketaclinic.services.protocol_settings import protocol_setting_lines
    from ketaclinic.storage.database import transaction

    with transaction(migrated_session_factory()) as db:
        lines = protocol_setting_lines(db)
    if protocol_id is not None and not any(line.protocol_id == protocol_id for line in lines):
        known = ", ".join(sorted({line.protocol_id for line in lines}))
        raise InvalidInput(f"Unknown protocol '{protocol_id}'. Known: {known}.", field="protocol")
    return [
        {
            "protocol": line.protocol_id,
            "setting": line.setting.id,
            "description": line.setting.description,
            "unit": line.setting.unit,
            "sourced_value": line.sourced_value,
            "value": line.value,
            "source": line.source,
            "verified": line.verified,
            "set_by": None if line.applied is None else line.applied.changed_by,
            "set_at": None if line.applied is None else line.applied.changed_at.isoformat(),
            "reason": None if line.applied is None else line.applied.reason,
        }
        for line in lines
        if protocol_id is None or line.protocol_id == protocol_id
    ]


def _change(protocol: str, setting: str, value: Any, reason: str, by: str, revert: bool) -> None:
    from ketaclinic.services.context import Actor, RequestContext
    from ketaclinic.services.protocol_settings import change_protocol_setting
    from ketaclinic.storage.database import transaction

    if not by.strip():
        raise InvalidInput("--by: name the person making the change.", field="by")
    actor = Actor(user_id=None, role="system", display_name=f"{by.strip()} (command line)")
    ctx = RequestContext(actor=actor, now=datetime.now(UTC))
    with transaction(migrated_session_factory()) as db:
        change = change_protocol_setting(
            db, ctx, protocol, setting, value, reason=reason, revert=revert
        )
    print_json(
        {
            "protocol": protocol, "setting": change.setting_id, "value": change.value,
            "previous_value": change.previous_value, "sourced_value": change.default_value,
            "reverted": change.reverted, "changed_by": change.changed_by,
            "changed_at": change.changed_at.isoformat(), "reason": change.reason,
        }
    )  # fmt: skip


def _rule_class_json(line: Any) -> dict[str, Any]:
    return {
        "rule_id": line.rule.id,
        "class_in_force": line.chosen,
        "default_class": line.rule.rule_class.value,
        "options": {o.rule_class.value: o.source.short() for o in line.rule.class_options},
        "set_by": line.set_by,
        "reason": line.reason,
    }


def register(app: typer.Typer) -> None:
    settings_app = typer.Typer(
        help="The clinic's settings of its protocols (limits, defaults, interval).",
        no_args_is_help=True,
    )

    @settings_app.command("show")
    def show(
        protocol: Annotated[str | None, typer.Option(help="Only this protocol id.")] = None,
    ) -> None:
        """Every configurable value: sourced, in force, its source and who set it."""
        try:
            payload = _lines_json(protocol)
        except KetaclinicError as error:
            fail(error)
        print_json(payload)

    @settings_app.command("set")
    def set_(
        protocol: Annotated[str, typer.Argument(help="Protocol id.")],
        setting: Annotated[str, typer.Argument(help="e.g. limits.max_mg_per_session.")],
        value: Annotated[str, typer.Argument(help='A number, "0.5,0.75,1", a choice or "none".')],
        reason: Annotated[str, typer.Option(help="Why the clinic sets this value.")],
        by: Annotated[str, typer.Option(help="Who makes the change (recorded).")],
    ) -> None:
        """Set one protocol value for this clinic (refused outside what the protocol allows)."""
        try:
            _change(protocol, setting, _parse_value(value), reason, by, revert=False)
        except KetaclinicError as error:
            fail(error)

    @settings_app.command("revert")
    def revert(
        protocol: Annotated[str, typer.Argument(help="Protocol id.")],
        setting: Annotated[str, typer.Argument(help="e.g. limits.max_mg_per_session.")],
        reason: Annotated[str, typer.Option(help="Why the clinic returns to the sourced value.")],
        by: Annotated[str, typer.Option(help="Who makes the change (recorded).")],
    ) -> None:
        """Return one protocol value to the protocol's sourced value."""
        try:
            _change(protocol, setting, None, reason, by, revert=True)
        except KetaclinicError as error:
            fail(error)

    @settings_app.command("rule-classes")
    def rule_classes() -> None:
        """Screening rules whose sources disagree on their class, with the clinic's choice."""
        from ketaclinic.services.screening_policy import rule_class_lines
        from ketaclinic.storage.database import transaction

        try:
            with transaction(migrated_session_factory()) as db:
                lines = rule_class_lines(db)
        except KetaclinicError as error:
            fail(error)
        print_json([_rule_class_json(line) for line in lines])

    @settings_app.command("rule-class")
    def rule_class(
        rule_id: Annotated[str, typer.Argument(help="e.g. uncontrolled-hypertension.")],
        chosen: Annotated[str, typer.Argument(help='A class option, or "default".')],
        reason: Annotated[str, typer.Option(help="Why the clinic follows this source.")],
        by: Annotated[str, typer.Option(help="Who makes the change (recorded).")],
    ) -> None:
        """Choose which source's class a screening rule follows in this clinic."""
        from ketaclinic.services.context import Actor, RequestContext
        from ketaclinic.services.screening_policy import change_rule_class
        from ketaclinic.storage.database import transaction

        try:
            if not by.strip():
                raise InvalidInput("--by: name the person making the change.", field="by")
            actor = Actor(user_id=None, role="system", display_name=f"{by.strip()} (command line)")
            ctx = RequestContext(actor=actor, now=datetime.now(UTC))
            revert = chosen == "default"
            with transaction(migrated_session_factory()) as db:
                change = change_rule_class(
                    db, ctx, rule_id, None if revert else chosen, reason=reason, revert=revert
                )
        except KetaclinicError as error:
            fail(error)
        print_json(
            {"rule_id": rule_id, "class": change.value, "previous_class": change.previous_value,
             "changed_by": change.changed_by, "reason": change.reason}
        )  # fmt: skip

    app.add_typer(settings_app, name="protocol-settings")
