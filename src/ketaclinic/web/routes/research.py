"""Research: the cohort outcomes report of this clinic, for administrators and researchers.

The page builds the de-identified registry (research-consented patients only, Safe Harbor, keys
and days instead of identities and dates) from the clinic database and shows the same analysis
as ``ketaclinic report cohort``: figures, the comparison with published results, the tables; the
same report as PDF; the registry itself as Parquet or CSV for a researcher's own analysis. Every
view and download is audited. ``/api/v1/research/cohort`` is the JSON twin.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from ketaclinic.interop.deidentify import Deidentifier, load_or_create_secret
from ketaclinic.reports.cohort_snapshot import MAX_AGE, CohortSnapshot, SnapshotCache
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(tags=["research"])
ResearchRead = Depends(require("deidentified_data:read"))

add_nav_item(
    NavItem(
        "Research",
        "/research",
        "deidentified_data:read",
        "Cohort outcomes against published results; the de-identified registry to download.",
    )
)


def _snapshot(
    request: Request, db: DbSession, actor: Actor, now: datetime, *, rebuild: bool = False
) -> CohortSnapshot:
    state = request.app.state
    if not hasattr(state, "research_snapshots"):
        state.research_snapshots = SnapshotCache()
    key = Deidentifier(load_or_create_secret(state.settings.data_dir), as_of=now.date())
    cache: SnapshotCache = state.research_snapshots
    return cache.get(db, RequestContext(actor, now), key, rebuild=rebuild)


def _audit(
    db: DbSession, actor: Actor, now: datetime, action: str, snapshot: CohortSnapshot, **extra: Any
) -> None:
    # De-identified and aggregate: the entry names no patient, only what was seen.
    detail = {"patients": snapshot.registry.patients, "built_at": snapshot.built_at.isoformat()}
    record_event(db, actor, action, "report", "cohort", detail=detail | extra, now=now)


@router.get("/research", response_class=HTMLResponse, dependencies=[ResearchRead])
def research_page(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    snapshot = _snapshot(request, db, actor, now)
    _audit(db, actor, now, "report.cohort.read", snapshot)
    context = {
        "snapshot": snapshot,
        "body": snapshot.body(),
        "max_age_minutes": int(MAX_AGE.total_seconds() // 60),
    }
    return render(request, "research.html", context)


@router.post("/research/rebuild", dependencies=[ResearchRead])
def rebuild(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    snapshot = _snapshot(request, db, actor, now, rebuild=True)
    _audit(db, actor, now, "report.cohort.rebuild", snapshot)
    return RedirectResponse("/research", status_code=303)


@router.get("/research/cohort.pdf", dependencies=[ResearchRead])
def cohort_pdf(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    snapshot = _snapshot(request, db, actor, now)
    content = snapshot.pdf()
    _audit(db, actor, now, "report.cohort.pdf", snapshot)
    name = f"cohort-report-{snapshot.built_at.date().isoformat()}.pdf"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(content, media_type="application/pdf", headers=headers)


@router.get("/research/registry.zip", dependencies=[ResearchRead])
def registry_download(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    format: Annotated[str, Query(description="parquet or csv")] = "parquet",
) -> Response:
    snapshot = _snapshot(request, db, actor, now)
    content = snapshot.registry_zip(format)
    _audit(db, actor, now, "research.registry.download", snapshot, format=format)
    name = f"ketaclinic-registry-{snapshot.built_at.date().isoformat()}-{format}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type="application/zip", headers=headers)


class CohortOut(BaseModel):
    """The report's figures as data: rates are shares (0-1) with Wilson 95% bounds."""

    built_at: datetime
    patients: int = Field(description="Research-consented patients in the registry.")
    left_out_without_research_consent: int
    courses: int
    notes: list[str]
    comparison: list[dict[str, Any]]
    durability: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    adverse_events: list[dict[str, Any]]
    bp_alerts: list[dict[str, Any]]
    dropout: list[dict[str, Any]]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    def plain(value: Any) -> Any:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return value.item() if hasattr(value, "item") else value

    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _cohort_out(snapshot: CohortSnapshot) -> CohortOut:
    results = snapshot.report.results
    durability = [
        {"group": label, "responders": c.responders, "relapses": c.relapses,
         "median_days": None if math.isinf(c.median_days) else c.median_days,
         "free_of_relapse": {str(day): list(v) for day, v in c.free_of_relapse.items()}}
        for label, c in results.durability.items()
    ]  # fmt: skip
    return CohortOut(
        built_at=snapshot.built_at,
        patients=snapshot.registry.patients,
        left_out_without_research_consent=snapshot.registry.left_out_without_consent,
        courses=results.courses,
        notes=[snapshot.report.dataset_note, *results.notes],
        comparison=_records(snapshot.report.comparison),
        durability=durability,
        outcomes=_records(results.outcomes),
        adverse_events=_records(results.adverse_events),
        bp_alerts=_records(results.bp_alerts),
        dropout=_records(results.dropout),
    )


@router.get("/api/v1/research/cohort", dependencies=[ResearchRead], tags=["research API"])
def cohort_api(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> CohortOut:
    """The research page's report as JSON (same snapshot, same audit entry)."""
    snapshot = _snapshot(request, db, actor, now)
    _audit(db, actor, now, "report.cohort.read", snapshot)
    return _cohort_out(snapshot)


@router.post("/api/v1/research/cohort/rebuild", dependencies=[ResearchRead], tags=["research API"])
def rebuild_api(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> CohortOut:
    """Rebuild the registry and the report from the clinic database now."""
    snapshot = _snapshot(request, db, actor, now, rebuild=True)
    _audit(db, actor, now, "report.cohort.rebuild", snapshot)
    return _cohort_out(snapshot)
