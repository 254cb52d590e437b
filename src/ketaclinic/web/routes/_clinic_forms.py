"""Helpers the clinician pages share: the request context, form errors in plain words, dates."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Request

from ketaclinic.errors import InvalidInput
from ketaclinic.services.context import Actor, RequestContext


def context(actor: Actor, now: datetime) -> RequestContext:
    return RequestContext(actor=actor, now=now)


def field_errors(exc: InvalidInput, default_field: str) -> dict[str, str]:
    """One message per field; the "field: " prefix of a validation message is dropped because
    the message is shown beside that field already."""
    errors: dict[str, str] = {}
    for part in exc.message.split("; "):
        name, sep, text = part.partition(": ")
        if sep and name.replace("_", "").replace(".", "").isalnum() and " " not in name:
            errors.setdefault(name.split(".")[0], text[:1].upper() + text[1:])
        else:
            errors.setdefault(exc.field.split(".")[0] if exc.field else default_field, part)
    return errors


def optional_date(value: str, field: str) -> date | None:
    """A YYYY-MM-DD date from a form, or None when left empty."""
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"Write the date as YYYY-MM-DD, not '{text}'.", field=field) from None


def optional_number(value: str, field: str, label: str) -> float | None:
    text = value.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{label} must be a number, not '{text}'.", field=field) from None


async def form_fields(request: Request) -> dict[str, str]:
    """Every text field of a posted form (for forms whose fields depend on the data, such as a
    questionnaire's items)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}
