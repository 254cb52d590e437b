"""The one exception tree of ketaclinic.

    KetaclinicError                  base; never raised directly
    ├── InvalidInput                 bad data from a person, a file or a device  (CLI 2, HTTP 422)
    ├── NotFound                     the named thing does not exist              (CLI 3, HTTP 404)
    ├── RuleViolation                a clinical or workflow rule refuses it      (CLI 4, HTTP 409)
    │   └── OverrideRequired         refused unless a prescriber overrides with a reason
    ├── PermissionDenied             this person may not do this                 (CLI 5, HTTP 403)
    └── ConfigurationError           the installation or a data file is wrong    (CLI 6, HTTP 500)

Messages are written for the person who has to act on them (a nurse, a prescriber, an admin):
say what was wrong and what is allowed. Adapters map the classes to exit codes and HTTP statuses
through the two attributes below, so the mapping lives here and only here.
"""

from __future__ import annotations

from typing import ClassVar


class KetaclinicError(Exception):
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field or item the error is about, so a page can show it beside that field.
        self.field = field


class InvalidInput(KetaclinicError):
    exit_code = 2
    http_status = 422


class NotFound(KetaclinicError):
    exit_code = 3
    http_status = 404


class RuleViolation(KetaclinicError):
    exit_code = 4
    http_status = 409


class OverrideRequired(RuleViolation):
    """A limit or contraindication that a prescriber may override with a written reason."""

    def __init__(self, message: str, *, rule_ids: list[str], field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.rule_ids = rule_ids


class PermissionDenied(KetaclinicError):
    exit_code = 5
    http_status = 403


class ConfigurationError(KetaclinicError):
    exit_code = 6
    http_status = 500
