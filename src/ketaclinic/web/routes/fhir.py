"""The read-only FHIR R4 endpoint: ``/fhir/metadata``, read by id, search by patient/code/date.

Callers sign in to the web app first (the session cookie); what they see depends on the
permission matrix: chart readers everything identified, a patient their own record, researchers
(and administrators) research-consented patients de-identified. Every read and search is audited.
Errors come back as FHIR OperationOutcome resources with the matching HTTP status.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ketaclinic.errors import KetaclinicError
from ketaclinic.interop.deidentify import Deidentifier, load_or_create_secret
from ketaclinic.interop.fhir import server
from ketaclinic.interop.fhir.capability import capability_statement
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.users import actor_for
from ketaclinic.storage.tables.access import User
from ketaclinic.web.deps import ACCESS_ATTRIBUTE, DbSession, Now, OptionalUser, Public, client_ip
from ketaclinic.web.permissions import permission_matrix

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


def fhir_caller(user: OptionalUser) -> User | None:
    """The signed-in caller, or None: the route answers 401 as an OperationOutcome itself."""
    return user


# Any signed-in role may call; the view (identified, own record, de-identified) is chosen inside.
setattr(fhir_caller, ACCESS_ATTRIBUTE, "signed_in")
Caller = Annotated[User | None, Depends(fhir_caller)]


def _outcome(status: int, message: str, code: str = "processing") -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON)


def _view(request: Request, db: DbSession, ctx: RequestContext) -> server.FhirView:
    matrix = permission_matrix()
    secret = load_or_create_secret(request.app.state.settings.data_dir)
    return server.view_for(
        db,
        ctx,
        can_read_charts=matrix.allows(ctx.actor.role, "patient_record:read"),
        can_read_research=matrix.allows(ctx.actor.role, "deidentified_data:read"),
        deidentifier=Deidentifier(secret, as_of=ctx.now.date()),
    )


def _audit(
    db: DbSession,
    ctx: RequestContext,
    view: server.FhirView,
    action: str,
    what: str,
    detail: dict[str, Any],
    patient: str | None = None,
) -> None:
    # The trail names the patient whose identified record was read; a de-identified read has
    # no patient id to name (pseudonyms are not record ids).
    patient_id = ctx.actor.patient_id if ctx.actor.role == "patient" else None
    if patient_id is None and view.identified and patient:
        patient_id = patient.removeprefix("Patient/")
    detail = {**detail, "identified": view.identified}
    record_event(
        db, ctx.actor, action, "fhir", what, patient_id=patient_id, detail=detail, now=ctx.now
    )


@router.get("/metadata", dependencies=[Public])
def metadata(request: Request, now: Now) -> JSONResponse:
    base = str(request.base_url).rstrip("/") + "/fhir"
    return _fhir(capability_statement(base, now).model_dump(mode="json", exclude_none=True))


@router.get("/Patient/{patient_id}/$everything")
def patient_everything(
    request: Request, db: DbSession, now: Now, user: Caller, patient_id: str
) -> JSONResponse:
    if user is None:
        return _outcome(401, "Sign in to the clinic web app first.", "login")
    ctx = RequestContext(actor_for(user, ip_address=client_ip(request)), now)
    try:
        view = _view(request, db, ctx)
        found = server.everything(db, view, patient_id)
    except KetaclinicError as exc:
        return _outcome(exc.http_status, exc.message)
    _audit(db, ctx, view, "fhir.everything", f"Patient/{patient_id}", {}, patient_id)
    root = str(request.base_url).rstrip("/")
    entries = [
        {"fullUrl": f"{root}/fhir/{r['resourceType']}/{r['id']}", "resource": r} for r in found
    ]
    return _fhir(
        {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    )


@router.get("/{resource_type}/{resource_id}")
def read_resource(
    request: Request, db: DbSession, now: Now, user: Caller, resource_type: str, resource_id: str
) -> JSONResponse:
    if user is None:
        return _outcome(401, "Sign in to the clinic web app first.", "login")
    ctx = RequestContext(actor_for(user, ip_address=client_ip(request)), now)
    try:
        view = _view(request, db, ctx)
        resource = server.read(db, view, resource_type, resource_id)
    except KetaclinicError as exc:
        return _outcome(exc.http_status, exc.message)
    patient = resource_id if resource_type == "Patient" else None
    _audit(db, ctx, view, "fhir.read", f"{resource_type}/{resource_id}", {}, patient)
    return _fhir(resource)


@router.get("/{resource_type}")
def search_resources(
    request: Request,
    db: DbSession,
    now: Now,
    user: Caller,
    resource_type: str,
    patient: str | None = None,
    code: Annotated[list[str] | None, Query()] = None,
    date: Annotated[list[str] | None, Query()] = None,
    count: Annotated[int | None, Query(alias="_count")] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> JSONResponse:
    if user is None:
        return _outcome(401, "Sign in to the clinic web app first.", "login")
    ctx = RequestContext(actor_for(user, ip_address=client_ip(request)), now)
    try:
        size = server.page_size(count)
        view = _view(request, db, ctx)
        found = server.search(
            db, view, resource_type, patient=patient, codes=code or (), dates=date or ()
        )
    except KetaclinicError as exc:
        return _outcome(exc.http_status, exc.message)
    criteria = {"patient": patient, "code": code, "date": date}
    detail = {"criteria": criteria, "matches": len(found)}
    # Only a patient id that matched is a record id (anything else may not even be a UUID).
    _audit(db, ctx, view, "fhir.search", resource_type, detail, patient if found else None)
    base = str(request.base_url).rstrip("/") + f"/fhir/{resource_type}"
    params = [
        (k, v)
        for k, values in (
            ("patient", [patient] if patient else []),
            ("code", code or []),
            ("date", date or []),
        )
        for v in values
    ]

    def link(relation: str, start: int) -> dict[str, str]:
        query = urlencode([*params, ("_count", str(size)), ("_offset", str(start))])
        return {"relation": relation, "url": f"{base}?{query}"}

    links = [link("self", offset)]
    if size > 0 and offset + size < len(found):
        links.append(link("next", offset + size))
    if size > 0 and offset > 0:
        links.append(link("previous", max(0, offset - size)))
    page = found[offset : offset + size]
    root = str(request.base_url).rstrip("/")
    return _fhir(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "link": links,
            "entry": [
                {"fullUrl": f"{root}/fhir/{r['resourceType']}/{r['id']}",
                 "resource": r, "search": {"mode": "match"}}
                for r in page
            ],
        }
    )  # fmt: skip
