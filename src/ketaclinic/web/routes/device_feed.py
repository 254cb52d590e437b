"""``POST /api/v1/sessions/{session_id}/vitals``: bedside monitors post batches of readings.

Two callers: a bedside device with its bearer token (``Authorization: Bearer <token>``, issued by
``ketaclinic devices register``), or signed-in staff allowed to change treatment sessions (a nurse
re-sending a monitor's export). The answer reports each reading as accepted, duplicate or
rejected with the reason; re-sending a batch stores nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ketaclinic.errors import PermissionDenied
from ketaclinic.services import device_feed
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.users import actor_for
from ketaclinic.web.deps import ACCESS_ATTRIBUTE, DbSession, Now, client_ip, signed_in_user
from ketaclinic.web.permissions import permission_matrix

router = APIRouter(prefix="/api/v1", tags=["device feed"])
FEED_PERMISSION = "treatment_session:change"


@dataclass(frozen=True)
class FeedCaller:
    actor: Actor
    device_id: str | None


def feed_caller(
    request: Request,
    db: DbSession,
    now: Now,
    authorization: Annotated[str | None, Header(description="Bearer <device token>")] = None,
) -> FeedCaller:
    """A device by its token, else a signed-in person whose role may change sessions."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found = device_feed.device_actor(db, token.strip())
        if found is None:
            raise HTTPException(
                status_code=401,
                detail="Unknown or revoked device token; register the device again.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return FeedCaller(found[1], found[0])
    user = signed_in_user(request, db, now)
    if not permission_matrix().allows(user.role, FEED_PERMISSION):
        raise PermissionDenied(f"Your role ({user.role}) may not post session readings.")
    return FeedCaller(actor_for(user, ip_address=client_ip(request)), None)


# The permission-matrix test reads this marker; staff callers are checked against the matrix.
setattr(feed_caller, ACCESS_ATTRIBUTE, f"permission:{FEED_PERMISSION}")

# Each reading is validated on its own by the service, so one malformed reading is rejected
# with its reason while the rest of the batch is stored; the schema still documents its shape.
ReadingJson = Annotated[
    dict[str, Any], WithJsonSchema(device_feed.DeviceReading.model_json_schema())
]


class VitalsBatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "readings": [
                        {
                            "id": "3f1c2a9e-7b4d-4c1e-9a55-0c2f8e6d1b77",
                            "taken_at": "2026-03-02T09:55:00+00:00",
                            "systolic_mmhg": 142,
                            "diastolic_mmhg": 88,
                            "heart_rate_bpm": 84,
                            "spo2_percent": 97,
                            "respiratory_rate_per_min": 14,
                        },
                        {
                            "id": "9b0e4c11-2d6f-4f0a-8c3e-5a7d9e1f2b44",
                            "taken_at": "2026-03-02T10:05:00+00:00",
                            "spo2_percent": 96,
                        },
                    ]
                }
            ]
        }
    )
    readings: list[ReadingJson] = Field(min_length=1, max_length=1000)


class ReadingOutcome(BaseModel):
    id: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = Field(default=None, description="Why rejected (field, allowed range).")
    alerts: list[str] = Field(default_factory=list, description="Alert rules this reading raised.")


class VitalsBatchResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "c0a8012e-0000-4000-8000-000000000001",
                    "accepted": 1,
                    "duplicate": 1,
                    "rejected": 1,
                    "results": [
                        {"id": "3f1c2a9e-7b4d-4c1e-9a55-0c2f8e6d1b77", "status": "accepted",
                         "reason": None, "alerts": ["bp-above-intervention-threshold"]},
                        {"id": "9b0e4c11-2d6f-4f0a-8c3e-5a7d9e1f2b44", "status": "duplicate",
                         "reason": "Already stored; nothing changed.", "alerts": []},
                        {"id": "5d2c7e90-1a3b-4c5d-8e9f-0a1b2c3d4e5f", "status": "rejected",
                         "reason": "Systolic blood pressure of 420 mm[Hg] is not physiologically "
                         "possible: ...", "alerts": []},
                    ],
                }
            ]
        }
    )  # fmt: skip
    session_id: str
    accepted: int
    duplicate: int
    rejected: int
    results: list[ReadingOutcome]


@router.post(
    "/sessions/{session_id}/vitals",
    summary="Post a batch of bedside readings",
    response_description="One outcome per reading, in the order sent.",
    responses={
        401: {"description": "No session and no valid device token."},
        403: {"description": "The signed-in role may not change sessions."},
        404: {"description": "No such session."},
    },
)
def post_vitals(
    session_id: str,
    body: VitalsBatch,
    caller: Annotated[FeedCaller, Depends(feed_caller)],
    db: DbSession,
    now: Now,
) -> VitalsBatchResult:
    """Store new readings; a re-sent reading is reported as a duplicate and stored once.

    Readings may arrive late or out of order. A reading is rejected, with the reason, when a
    value is physiologically impossible, its id is not a UUID or was used for other values,
    ``taken_at`` lacks an offset, is in the future or outside the patient's stay, or the
    session does not take readings (not checked in, or signed).
    """
    ctx = RequestContext(actor=caller.actor, now=now)
    results = device_feed.receive_readings(
        db, ctx, session_id, body.readings, device_id=caller.device_id
    )
    return VitalsBatchResult(
        session_id=session_id,
        accepted=sum(r.status == "accepted" for r in results),
        duplicate=sum(r.status == "duplicate" for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        results=[
            ReadingOutcome(id=r.id, status=r.status, reason=r.reason, alerts=list(r.alerts))
            for r in results
        ],
    )
