"""JSON twin of the clinic policy page's outcome definitions: read the definitions in force, and
(administrators) choose one among the cited options with a reason, as the page does.

Errors answer ``{"error", "field"}`` with the error's HTTP status, as every ``/api/`` route does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ketaclinic.services import outcome_policy
from ketaclinic.services.context import RequestContext
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require

router = APIRouter(prefix="/api/v1", tags=["clinic policy API"])


class OutcomeChoiceIn(BaseModel):
    setting_id: str = Field(description="e.g. 'remission.madrs', 'relapse.madrs' or 'baseline'.")
    choice: str | None = Field(default=None, description="An option id, e.g. 'le12'.")
    reason: str
    revert: bool = Field(default=False, description="Return to the data file's default.")


@router.get("/outcome-definitions", dependencies=[Depends(require("clinic_policy:read"))])
def outcome_definitions(db: DbSession) -> dict[str, Any]:
    """Each outcome definition where sources differ: the choice in force, the default, and every
    cited choice with its source."""
    return {
        "definitions": [
            {
                "setting_id": line.setting.id,
                "label": line.setting.label,
                "in_force": line.in_force.id,
                "default": line.default.id,
                "changed_by_clinic": line.changed_by_clinic,
                "choices": [c.model_dump(mode="json") for c in line.setting.choices],
            }
            for line in outcome_policy.outcome_setting_lines(db)
        ]
    }


@router.post("/outcome-definitions", dependencies=[Depends(require("clinic_policy:change"))])
def change_outcome_definition(
    body: OutcomeChoiceIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    change = outcome_policy.change_outcome_choice(
        db, RequestContext(actor, now), body.setting_id, body.choice,
        reason=body.reason, revert=body.revert,
    )  # fmt: skip
    return {
        "setting_id": change.setting_id, "previous_choice": change.previous_choice,
        "choice": change.choice, "reverted": change.reverted,
    }  # fmt: skip
