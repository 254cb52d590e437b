"""The search parameters the endpoint supports, per resource type, with FHIR R4 semantics.

``date`` compares ranges, as FHIR search does: a parameter value stands for the whole range its
precision implies (``2026`` is the year, ``2026-03-02`` the day, ``2026-03-02T09:30+01:00`` that
minute), and so does the resource's value (a date is its day, a Period its start to its end, an
instant itself). ``eq`` = the parameter's range contains the resource's; ``gt``/``lt`` = the
resource's range reaches beyond the parameter's; ``ge``/``le`` = either; ``ne`` = not ``eq``.
Times without a zone, and bare dates, are read in UTC (stored times are UTC).

``code`` matches a coding by ``code`` or ``system|code``; a comma means "or" within one
parameter, a repeated parameter means "and" (each must match).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ketaclinic.errors import InvalidInput

# Resource type -> the element the ``code`` parameter searches (only where it holds codings).
CODE_PATHS = {"Condition": "code", "Observation": "code", "Flag": "code"}
# Resource type -> the elements ``date`` searches, the first present wins.
DATE_PATHS: dict[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectivePeriod"),
    "QuestionnaireResponse": ("authored",),
    "Condition": ("onsetDateTime",),
    "AllergyIntolerance": ("recordedDate",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod"),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod"),
    "Encounter": ("period",),
    "CarePlan": ("period",),
    "Flag": ("period",),
    "Consent": ("dateTime",),
    "AdverseEvent": ("date",),
    "AuditEvent": ("recorded",),
}
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
_PATTERN = re.compile(
    r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DateRange:
    low: datetime  # inclusive
    high: datetime  # exclusive


def date_range(value: str) -> DateRange:
    """The range a FHIR date, dateTime or instant stands for; ValueError if it is none."""
    match = _PATTERN.match(value)
    if match is None:
        raise ValueError(value)
    parts = match.groupdict()
    year = int(parts["year"])
    if parts["month"] is None:
        return DateRange(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
    month = int(parts["month"])
    if parts["day"] is None:
        start = datetime(year, month, 1, tzinfo=UTC)
        following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return DateRange(start, following)
    day = datetime(year, month, int(parts["day"]), tzinfo=UTC)
    if parts["hour"] is None:
        return DateRange(day, day + timedelta(days=1))
    zone = parts["zone"] or "+00:00"
    text = f"{value[:10]}T{parts['hour']}:{parts['minute']}:{parts['second'] or '00'}"
    moment = datetime.fromisoformat(text + ("+00:00" if zone == "Z" else zone))
    if parts["fraction"] is not None:
        fraction = timedelta(seconds=float("0." + parts["fraction"]))
        return DateRange(moment + fraction, moment + fraction + timedelta(microseconds=1))
    step = timedelta(seconds=1) if parts["second"] is not None else timedelta(minutes=1)
    return DateRange(moment, moment + step)


@dataclass(frozen=True)
class DateCriterion:
    prefix: str
    range: DateRange

    def matches(self, target: DateRange) -> bool:
        contains = self.range.low <= target.low and target.high <= self.range.high
        above = target.high > self.range.high
        below = target.low < self.range.low
        return {
            "eq": contains, "ne": not contains, "gt": above, "lt": below,
            "ge": above or contains, "le": below or contains,
        }[self.prefix]  # fmt: skip


def parse_date(raw: str) -> DateCriterion:
    prefix, value = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
    problem = (
        f"date={raw} is not a FHIR date search: use YYYY, YYYY-MM, YYYY-MM-DD or a date-time "
        f"(YYYY-MM-DDThh:mm[:ss][Z|+hh:mm]), optionally prefixed with one of "
        f"{', '.join(PREFIXES)}."
    )
    if prefix not in PREFIXES:
        raise InvalidInput(problem, field="date")
    try:
        return DateCriterion(prefix, date_range(value))
    except ValueError:
        raise InvalidInput(problem, field="date") from None


def _target(resource: dict[str, Any]) -> DateRange | None:
    for path in DATE_PATHS.get(str(resource.get("resourceType")), ()):
        value = resource.get(path)
        if isinstance(value, str):
            return date_range(value)
        if isinstance(value, dict) and isinstance(value.get("start"), str):
            end = value.get("end")
            high = date_range(end).high if isinstance(end, str) else _FOREVER
            return DateRange(date_range(value["start"]).low, high)
    return None


def matches_dates(resource: dict[str, Any], criteria: Sequence[DateCriterion]) -> bool:
    if not criteria:
        return True
    target = _target(resource)
    return target is not None and all(c.matches(target) for c in criteria)


def _codings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    element = resource.get(CODE_PATHS.get(str(resource.get("resourceType")), ""), {})
    return element.get("coding", []) if isinstance(element, dict) else []


def _matches_token(codings: list[dict[str, Any]], token: str) -> bool:
    system, bar, code = token.rpartition("|")
    return any(
        c.get("code") == code and (not bar or c.get("system") == (system or None)) for c in codings
    )


def matches_codes(resource: dict[str, Any], parameters: Sequence[str]) -> bool:
    """Each repeated parameter must match (and); within one, any comma-separated token (or)."""
    codings = _codings(resource)
    return all(any(_matches_token(codings, t) for t in raw.split(",")) for raw in parameters)


def supported(resource_type: str) -> dict[str, str]:
    """Search parameter -> FHIR type, for what works on ``resource_type``."""
    found = {"patient": "reference"}
    if resource_type in CODE_PATHS:
        found["code"] = "token"
    if resource_type in DATE_PATHS:
        found["date"] = "date"
    return found
