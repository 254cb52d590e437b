"""A prescriber's override of a contraindication or a dose limit.

An override never makes a refusal disappear: it names exactly which rule or limit ids it covers,
carries a written reason, the prescriber and the time, and travels with the decision or dose it
allowed, so the record always shows who accepted which risk and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ketaclinic.errors import InvalidInput


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_ids: frozenset[str] = Field(min_length=1, description="Rule or limit ids it covers.")
    reason: str = Field(description="Why the prescriber accepts the risk, in their own words.")
    prescriber_id: str
    overridden_at: datetime

    @field_validator("reason", "prescriber_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("must not be blank")
        return stripped

    @classmethod
    def create(
        cls,
        *,
        rule_ids: Iterable[str],
        reason: str,
        prescriber_id: str,
        overridden_at: datetime,
    ) -> Override:
        """Build an override, turning validation problems into a message a prescriber can act on."""
        ids = frozenset(rule_id.strip() for rule_id in rule_ids if rule_id.strip())
        if not ids:
            raise InvalidInput(
                "An override must name the rule or limit it overrides.", field="rule_ids"
            )
        if not reason.strip():
            raise InvalidInput(
                "An override needs a written reason from the prescriber; it cannot be blank.",
                field="reason",
            )
        if not prescriber_id.strip():
            raise InvalidInput(
                "An override must name the prescriber who made it.", field="prescriber_id"
            )
        try:
            return cls(
                rule_ids=ids,
                reason=reason,
                prescriber_id=prescriber_id,
                overridden_at=overridden_at,
            )
        except ValidationError as exc:
            raise InvalidInput(f"Override is invalid: {exc.errors()[0]['msg']}") from exc

    def covers(self, rule_id: str) -> bool:
        return rule_id in self.rule_ids


def override_for(rule_id: str, overrides: Sequence[Override]) -> Override | None:
    """The first override that covers ``rule_id`` (the first listed wins)."""
    for override in overrides:
        if override.covers(rule_id):
            return override
    return None


def split_overridden(
    rule_ids: Iterable[str], overrides: Sequence[Override]
) -> tuple[dict[str, Override], list[str]]:
    """Partition ids into those an override covers (with it) and those still refused."""
    covered: dict[str, Override] = {}
    refused: list[str] = []
    for rule_id in rule_ids:
        found = override_for(rule_id, overrides)
        if found is None:
            refused.append(rule_id)
        else:
            covered[rule_id] = found
    return covered, refused
