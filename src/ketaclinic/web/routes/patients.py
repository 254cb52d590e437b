"""Patients: the list with search, and registering a new patient (then on to intake)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.clinical.vocabulary import Sex
from ketaclinic.errors import InvalidInput
from ketaclinic.services import patients
from ketaclinic.services.audit import record_event
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require
from ketaclinic.web.routes._clinic_forms import context, field_errors, optional_date
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(prefix="/patients", tags=["patients"])

PatientsRead = Depends(require("patient_record:read"))
PatientsChange = Depends(require("patient_record:change"))
PAGE_SIZE = 50
SEX_OPTIONS = [(Sex.FEMALE.value, "Female"), (Sex.MALE.value, "Male")]

add_nav_item(
    NavItem(
        "Patients", "/patients", "patient_record:read", "Find a patient, open a chart, register."
    )
)


@router.get("", response_class=HTMLResponse, dependencies=[PatientsRead])
def patient_list(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    found = patients.list_patients(
        db, search=q or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    # Listing names is a read of identified data: one entry per page shown.
    record_event(
        db,
        actor,
        "patient.list",
        "patient",
        None,
        detail={"search": q[:40], "page": page, "shown": min(len(found), PAGE_SIZE)},
        now=now,
    )
    return render(
        request,
        "patient_list.html",
        {"patients": found[:PAGE_SIZE], "has_more": len(found) > PAGE_SIZE, "page": page, "q": q},
    )


def _new_form(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
    values: dict[str, Any] = {"values": {}, "errors": {}, "sexes": SEX_OPTIONS}
    values.update(extra)
    return render(request, "patient_new.html", values, status_code=status_code)


@router.get("/new", response_class=HTMLResponse, dependencies=[PatientsChange])
def new_patient_form(request: Request) -> Response:
    return _new_form(request)


@router.post("", response_class=HTMLResponse, dependencies=[PatientsChange])
def register_patient(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    given_name: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form()] = "",
    preferred_name: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    mrn: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    values = {
        "given_name": given_name,
        "family_name": family_name,
        "preferred_name": preferred_name,
        "date_of_birth": date_of_birth,
        "sex": sex,
        "mrn": mrn,
        "phone": phone,
        "email": email,
    }
    errors: dict[str, str] = {}
    if not given_name.strip():
        errors["given_name"] = "Enter the given name."
    if not family_name.strip():
        errors["family_name"] = "Enter the family name."
    if sex not in {value for value, _ in SEX_OPTIONS}:
        errors["sex"] = "Choose the sex recorded at birth (female or male)."
    try:
        born = optional_date(date_of_birth, "date_of_birth")
        if born is None:
            errors["date_of_birth"] = "Enter the date of birth as YYYY-MM-DD."
    except InvalidInput as exc:
        errors["date_of_birth"] = exc.message
    if errors:
        return _new_form(request, status_code=422, values=values, errors=errors)
    identity = {
        "given_name": given_name,
        "family_name": family_name,
        "preferred_name": preferred_name or None,
        "date_of_birth": born,
        "sex": sex,
    }
    contact = {"phone": phone or None, "email": email or None}
    try:
        patient_id = patients.register_patient(
            db, context(actor, now), identity, contact, mrn=mrn.strip() or None
        )
    except InvalidInput as exc:
        db.rollback()
        return _new_form(
            request, status_code=422, values=values, errors=field_errors(exc, "given_name")
        )
    return RedirectResponse(f"/patients/{patient_id}/intake", status_code=303)
