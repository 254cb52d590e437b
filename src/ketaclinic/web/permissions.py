"""The permission matrix (``web/data/permissions.yaml``) and the questions asked of it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ketaclinic.clinical.knowledge import load_knowledge
from ketaclinic.errors import ConfigurationError

Action = Literal["read", "change"]
ROLES = ("administrator", "prescriber", "nurse", "patient", "researcher")


class RoleInfo(BaseModel):
    label: str
    description: str
    own_record_only: bool = False
    deidentified_only: bool = False


class ResourceRule(BaseModel):
    description: str
    read: list[str] = Field(default_factory=list)
    change: list[str] = Field(default_factory=list)


class PermissionMatrix(BaseModel):
    roles: dict[str, RoleInfo]
    resources: dict[str, ResourceRule]

    @model_validator(mode="after")
    def _known_roles_only(self) -> PermissionMatrix:
        if set(self.roles) != set(ROLES):
            raise ValueError(f"roles must be exactly {', '.join(ROLES)}")
        for name, rule in self.resources.items():
            unknown = (set(rule.read) | set(rule.change)) - set(ROLES)
            if unknown:
                raise ValueError(f"resource {name} names unknown roles {sorted(unknown)}")
        return self

    def permissions(self) -> list[str]:
        return [f"{name}:{action}" for name in self.resources for action in ("read", "change")]

    def allows(self, role: str, permission: str) -> bool:
        resource, action = split_permission(permission, self)
        rule = self.resources[resource]
        return role in (rule.read if action == "read" else rule.change)

    def granted(self, role: str) -> list[str]:
        return [p for p in self.permissions() if self.allows(role, p)]


def split_permission(permission: str, matrix: PermissionMatrix) -> tuple[str, Action]:
    resource, _, action = permission.partition(":")
    if resource not in matrix.resources or action not in ("read", "change"):
        known = ", ".join(matrix.permissions())
        raise ConfigurationError(f"Unknown permission '{permission}'; known ones: {known}.")
    return resource, "read" if action == "read" else "change"


def permission_matrix() -> PermissionMatrix:
    return load_knowledge("ketaclinic.web", "permissions.yaml", PermissionMatrix)
