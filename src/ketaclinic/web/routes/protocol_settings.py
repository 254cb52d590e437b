"""Clinic policy, protocol settings: each protocol's configurable values with their sources.

A sub-page of the clinic policy page. Every value a protocol declares configurable (its dose
default and titration steps, body-weight choice, infusion defaults, ceilings and minimum interval)
is listed with the sourced value, the value in force and where it comes from; an administrator
changes or reverts one with a written reason through ``services.protocol_settings``, which refuses
anything the protocol does not allow (the page shows the refusal beside the field, typed input
kept). The JSON twin is ``GET/POST /api/v1/protocol-settings``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import all_protocols
from ketaclinic.errors import InvalidInput
from ketaclinic.services import protocol_settings, screening_policy
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require
from ketaclinic.web.session_forms import text
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(tags=["administration"])

add_nav_item(
    NavItem(
        "Protocol settings", "/admin/policy/protocols", "clinic_policy:read",
        "Each protocol's configurable limits, defaults and interval, with sources.",
    )
)  # fmt: skip

SettingsRead = Depends(require("clinic_policy:read"))
SettingsChange = Depends(require("clinic_policy:change"))


def shown(value: Any) -> str:
    """A setting value as a person reads it: 'not configured' for no value, lists with commas."""
    if value is None:
        return "not configured"
    if isinstance(value, tuple | list):
        return ", ".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _page(
    request: Request,
    db: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lines = protocol_settings.protocol_setting_lines(db)
    context: dict[str, Any] = {
        "lines": lines,
        "protocols": [(p.id, p.name) for p in all_protocols()],
        "history": list(reversed(protocol_settings.setting_history(db))),
        "rule_classes": screening_policy.rule_class_lines(db),
        "errors": errors or {},
        "values": values or {},
        "saved": request.query_params.get("saved"),
        "shown": shown,
    }
    return render(request, "admin_protocol_settings.html", context, status_code=status_code)


@router.get("/admin/policy/protocols", response_class=HTMLResponse, dependencies=[SettingsRead])
def settings_page(request: Request, db: DbSession) -> Response:
    return _page(request, db)


@router.post("/admin/policy/protocols", response_class=HTMLResponse, dependencies=[SettingsChange])
async def change(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    data = await request.form()
    form = {key: value for key, value in data.items() if isinstance(value, str)}
    try:
        saved = _apply(db, actor, now, form)
    except InvalidInput as exc:
        db.rollback()
        # The core names the setting as the field; on the form its value is "value".
        field = exc.field if exc.field in ("reason", "setting") else "value"
        return _page(request, db, errors={field: exc.message}, values=form, status_code=422)
    return RedirectResponse(f"/admin/policy/protocols?saved={saved}", status_code=303)


@router.post(
    "/admin/policy/protocols/rule-class", response_class=HTMLResponse, dependencies=[SettingsChange]
)
async def change_rule_class(
    request: Request, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    """Choose the class of a screening rule whose sources disagree (with a reason)."""
    data = await request.form()
    form = {key: value for key, value in data.items() if isinstance(value, str)}
    rule_id, _, chosen = text(form, "rule_choice").partition("=")
    try:
        if not rule_id:
            raise InvalidInput("Choose the rule and the class to use.", field="rule_choice")
        screening_policy.change_rule_class(
            db, RequestContext(actor, now), rule_id, chosen or None,
            reason=text(form, "rule_reason"), revert=form.get("action") == "revert",
        )  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        field = "rule_reason" if exc.field == "reason" else "rule_choice"
        return _page(request, db, errors={field: exc.message}, values=form, status_code=422)
    return RedirectResponse(f"/admin/policy/protocols?saved={rule_id}", status_code=303)


def _apply(db: Session, actor: Actor, now: datetime, form: dict[str, str]) -> str:
    chosen = text(form, "setting")
    protocol_id, _, setting_id = chosen.partition("|")
    if not protocol_id or not setting_id:
        raise InvalidInput("Choose the protocol setting to change.", field="setting")
    revert = form.get("action") == "revert"
    raw = text(form, "value")
    if not revert and not raw:
        raise InvalidInput(
            "New value: write it (or 'none' to leave a ceiling unset, or return to the source).",
            field="value",
        )
    value: Any = None if raw.lower() == "none" else raw.replace(",", " ") if "," in raw else raw
    protocol_settings.change_protocol_setting(
        db, RequestContext(actor, now), protocol_id, setting_id, value,
        reason=text(form, "reason"), revert=revert,
    )  # fmt: skip
    return f"{protocol_id}:{setting_id}"


# --- JSON twin --------------------------------------------------------------------------------


class ProtocolSettingIn(BaseModel):
    setting_id: str = Field(description="e.g. limits.max_mg_per_session")
    value: float | list[float] | str | None = Field(
        default=None, description="A number, a list (titration steps), a choice, or null."
    )
    reason: str
    revert: bool = False


def _line_json(line: protocol_settings.ProtocolSettingLine) -> dict[str, Any]:
    applied = line.applied
    return {
        "protocol_id": line.protocol_id, "setting_id": line.setting.id,
        "description": line.setting.description, "unit": line.setting.unit,
        "sourced_value": line.sourced_value, "value": line.value, "source": line.source,
        "verified": line.verified,
        "set_by": None if applied is None else applied.changed_by,
        "set_at": None if applied is None else applied.changed_at.isoformat(),
        "reason": None if applied is None else applied.reason,
    }  # fmt: skip


@router.get("/api/v1/protocol-settings", dependencies=[SettingsRead], tags=["clinic policy API"])
def list_settings(db: DbSession) -> list[dict[str, Any]]:
    """Every configurable protocol value: sourced, in force, its source, who set it and why."""
    return [_line_json(line) for line in protocol_settings.protocol_setting_lines(db)]


@router.post(
    "/api/v1/protocol-settings/{protocol_id}",
    dependencies=[SettingsChange],
    tags=["clinic policy API"],
)
def change_setting(
    protocol_id: str, body: ProtocolSettingIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """Set (or revert to the sourced value) one protocol value, with a reason."""
    change = protocol_settings.change_protocol_setting(
        db, RequestContext(actor, now), protocol_id, body.setting_id, body.value,
        reason=body.reason, revert=body.revert,
    )  # fmt: skip
    return {
        "protocol_id": protocol_id, "setting_id": change.setting_id, "value": change.value,
        "previous_value": change.previous_value, "sourced_value": change.default_value,
        "reverted": change.reverted, "changed_by": change.changed_by,
        "changed_at": change.changed_at.isoformat(), "reason": change.reason,
    }  # fmt: skip


class RuleClassIn(BaseModel):
    rule_class: str | None = Field(default=None, description="One of the rule's class options.")
    reason: str
    revert: bool = False


@router.get(
    "/api/v1/screening-rule-classes", dependencies=[SettingsRead], tags=["clinic policy API"]
)
def list_rule_classes(db: DbSession) -> list[dict[str, Any]]:
    """Screening rules whose sources give different classes: the options and the clinic's choice."""
    return [_rule_class_json(line) for line in screening_policy.rule_class_lines(db)]


def _rule_class_json(line: screening_policy.RuleClassLine) -> dict[str, Any]:
    options = [
        {"class": o.rule_class.value, "source": o.source.short()} for o in line.rule.class_options
    ]
    return {
        "rule_id": line.rule.id, "title": line.rule.title, "class_in_force": line.chosen,
        "default_class": line.rule.rule_class.value, "options": options,
        "set_by": line.set_by, "reason": line.reason,
    }  # fmt: skip


@router.post(
    "/api/v1/screening-rule-classes/{rule_id}",
    dependencies=[SettingsChange],
    tags=["clinic policy API"],
)
def set_rule_class(
    rule_id: str, body: RuleClassIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """Choose (or revert) the class of one such rule, with a reason."""
    change = screening_policy.change_rule_class(
        db, RequestContext(actor, now), rule_id, body.rule_class, reason=body.reason,
        revert=body.revert,
    )  # fmt: skip
    return {
        "rule_id": rule_id, "class": change.value, "previous_class": change.previous_value,
        "default_class": change.default_value, "reverted": change.reverted,
        "changed_by": change.changed_by, "changed_at": change.changed_at.isoformat(),
        "reason": change.reason,
    }  # fmt: skip
