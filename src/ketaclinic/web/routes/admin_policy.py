"""Clinic policy thresholds: every value in force per treatment kind, with its source, whether the
source is verified, whether the esketamine REMS/label fixes it, and the record of changes.

An administrator changes (or returns to the default) one threshold with a written reason through
``services.policy.change_threshold``, which refuses values outside the accepted range and any
loosening of a REMS-protected value; the page shows the refusal beside the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ketaclinic.clinical.knowledge import Source
from ketaclinic.clinical.policy import (
    ProtocolKind,
    default_policy,
    parse_protocol_kind,
    policy_file,
)
from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services import outcome_policy, policy
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require
from ketaclinic.web.session_forms import number, text
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(prefix="/admin/policy", tags=["administration"])

PolicyRead = Depends(require("clinic_policy:read"))
PolicyChange = Depends(require("clinic_policy:change"))

add_nav_item(
    NavItem(
        "Clinic policy", "/admin/policy", "clinic_policy:read",
        "Session thresholds with their sources, and the record of changes.",
    )
)  # fmt: skip


@dataclass(frozen=True)
class PolicyLine:
    parameter_id: str
    description: str
    unit: str
    value: float | None
    default_value: float | None
    source: Source
    protected: bool
    overridden: bool
    allowed_min: float
    allowed_max: float
    stricter: str


def policy_lines(db: Session, kind: ProtocolKind) -> list[PolicyLine]:
    in_force = policy.clinic_policy(db, kind)
    defaults = default_policy(kind)
    lines = []
    for param in policy_file().parameters:
        current = in_force.values[param.id]
        lines.append(
            PolicyLine(
                param.id, param.description, param.unit, current.value,
                defaults.get(param.id), current.source, current.protected, current.overridden,
                param.allowed.min, param.allowed.max, param.stricter,
            )
        )  # fmt: skip
    return lines


def _page(
    request: Request,
    db: Session,
    kind: ProtocolKind,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "kind": kind, "kinds": list(ProtocolKind), "lines": policy_lines(db, kind),
        "history": list(reversed(policy.policy_history(db, kind))),
        "errors": {k: v for k, v in (errors or {}).items() if not k.startswith("outcome_")},
        "outcome_errors": {k: v for k, v in (errors or {}).items() if k.startswith("outcome_")},
        "values": values or {}, "saved": request.query_params.get("saved"),
        "outcome_saved": request.query_params.get("outcome_saved"),
        "outcome_lines": outcome_policy.outcome_setting_lines(db),
        "outcome_history": list(reversed(outcome_policy.outcome_choice_history(db))),
    }  # fmt: skip
    return render(request, "admin_policy.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse, dependencies=[PolicyRead])
def policy_page(request: Request, db: DbSession, kind: str = "iv-racemic") -> Response:
    return _page(request, db, parse_protocol_kind(kind))


@router.post("", response_class=HTMLResponse, dependencies=[PolicyChange])
async def change(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    data = await request.form()
    form = {key: value for key, value in data.items() if isinstance(value, str)}
    kind = parse_protocol_kind(text(form, "kind") or "iv-racemic")
    try:
        _apply(db, actor, now, kind, form)
    except (InvalidInput, RuleViolation) as exc:
        db.rollback()
        # The core names the parameter as the field; the form's field for it is "value".
        field = exc.field if exc.field in ("reason", "parameter_id") else "value"
        return _page(request, db, kind, errors={field: exc.message}, values=form, status_code=422)
    saved = text(form, "parameter_id")
    return RedirectResponse(f"/admin/policy?kind={kind.value}&saved={saved}", status_code=303)


def _apply(
    db: Session, actor: Actor, now: datetime, kind: ProtocolKind, form: dict[str, str]
) -> None:
    parameter_id = text(form, "parameter_id")
    known = {p.id for p in policy_file().parameters}
    if parameter_id not in known:
        raise InvalidInput("Choose the threshold to change.", field="parameter_id")
    revert = form.get("action") == "revert"
    value = None if revert else number(form, "value", "New value")
    if value is None and not revert:
        raise InvalidInput("New value: write a number (or return to the default).", field="value")
    policy.change_threshold(
        db, RequestContext(actor, now), kind, parameter_id, value,
        reason=text(form, "reason"), revert=revert,
    )  # fmt: skip


@router.post("/outcomes", response_class=HTMLResponse, dependencies=[PolicyChange])
async def change_outcome(
    request: Request, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    """Choose an outcome definition (e.g. MADRS remission <= 12) among the cited options; the
    choice arrives as ``<setting id>=<option id>`` from one grouped list."""
    data = await request.form()
    form = {key: value for key, value in data.items() if isinstance(value, str)}
    kind = parse_protocol_kind(text(form, "kind") or "iv-racemic")
    setting_id, _, choice = text(form, "outcome_choice").partition("=")
    try:
        if not setting_id:
            raise InvalidInput("Choose the definition to use.", field="outcome_choice")
        outcome_policy.change_outcome_choice(
            db, RequestContext(actor, now), setting_id, choice, reason=text(form, "outcome_reason")
        )
    except InvalidInput as exc:
        db.rollback()
        field = "outcome_reason" if exc.field == "reason" else "outcome_choice"
        return _page(request, db, kind, errors={field: exc.message}, values=form, status_code=422)
    return RedirectResponse(
        f"/admin/policy?kind={kind.value}&outcome_saved={setting_id}#outcomes", status_code=303
    )
