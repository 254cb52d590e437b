"""The small condition language screening rules are written in, with three-valued logic.

Each condition is a one-key mapping in YAML (``{has_condition: {condition: psychosis}}``,
``{medication_class: [maoi]}``, ``{bp_above: {systolic_mmhg: 140, diastolic_mmhg: 90}}``, ...).
Evaluating one gives ``True``, ``False`` or ``None`` (cannot tell), the facts that were missing
and the details that explain the answer, so a finding can say exactly why it fired.
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.eligibility.policy import RuleContext
from ketaclinic.clinical.eligibility.screening_input import ScreeningInput
from ketaclinic.clinical.treatment_resistance import assess_trials
from ketaclinic.clinical.vocabulary import ConditionId, ConditionStatus, MedicationClass

FactName = Literal[
    "age_years", "sex", "weight_kg", "height_cm", "pregnant", "breastfeeding",
    "hypersensitivity_to_ketamine", "baseline_bp", "phq9_item9", "cssrs_screener_risk",
    "urinary_symptoms", "sleep_apnoea_risk", "hepatic_impairment", "current_medications",
    "antidepressant_trials", "hypertension_uncontrolled",
]  # fmt: skip


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: bool | None
    missing: tuple[str, ...] = ()
    details: tuple[str, ...] = ()


def _unknown(*missing: str) -> Verdict:
    return Verdict(value=None, missing=missing)


class _Cond(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ConditionSpec(_Cond):
    condition: ConditionId
    status: tuple[ConditionStatus, ...] = (ConditionStatus.ACTIVE,)


class HasCondition(_Cond):
    has_condition: ConditionSpec

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        spec = self.has_condition
        recorded = facts.condition_statuses().get(spec.condition)
        if recorded is None:
            return _unknown(f"whether the patient has {spec.condition} (diagnosis or ruled out)")
        matching = sorted(recorded & set(spec.status))
        if matching:
            return Verdict(value=True, details=(f"{spec.condition}: {', '.join(matching)}",))
        return Verdict(value=False, details=(f"{spec.condition}: {', '.join(sorted(recorded))}",))


class MedicationClassCondition(_Cond):
    medication_class: tuple[MedicationClass, ...] = Field(min_length=1)

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        if facts.current_medications is None:
            return _unknown("current medications (list them, or record that there are none)")
        wanted = set(self.medication_class)
        hits: list[str] = []
        unclassified: list[str] = []
        for medication in facts.current_medications:
            classes = medication.resolved_classes()
            label = medication.name or ", ".join(medication.classes or ())
            if classes is None:
                unclassified.append(label)
            elif classes & wanted:
                hits.append(f"{label} ({', '.join(sorted(classes & wanted))})")
        if hits:
            return Verdict(value=True, details=tuple(hits))
        if unclassified:
            return _unknown(f"the class of {', '.join(unclassified)} (not in the drug catalogue)")
        return Verdict(value=False)


_GATE = ("predose_bp_gate_systolic_mmhg", "predose_bp_gate_diastolic_mmhg")
_INTERVENTION = ("intervention_systolic_mmhg", "intervention_diastolic_mmhg")


class BpLimit(_Cond):
    """Stated numbers, or ``policy: predose-gate`` for the clinic's pre-dose gate."""

    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    policy: Literal["predose-gate"] | None = None

    def limits(self, ctx: RuleContext) -> tuple[float, float, str]:
        if self.policy is None:
            if self.systolic_mmhg is None or self.diastolic_mmhg is None:
                raise ValueError("bp_above needs systolic_mmhg and diastolic_mmhg, or policy")
            return self.systolic_mmhg, self.diastolic_mmhg, ""
        systolic, diastolic = (ctx.policy.number(p) for p in _GATE)
        if systolic is None or diastolic is None:
            raise ValueError("the clinic policy has no pre-dose blood-pressure gate")
        return systolic, diastolic, f", clinic gate: {ctx.policy.sources.get(_GATE[0], '')}"


class BpAbove(_Cond):
    bp_above: BpLimit

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        bp = facts.baseline_bp
        if bp is None:
            return _unknown(ctx.missing("baseline_bp", "baseline blood pressure"))
        systolic, diastolic, whose = self.bp_above.limits(ctx)
        above = bp.systolic_mmhg > systolic or bp.diastolic_mmhg > diastolic
        detail = (
            f"BP {bp.systolic_mmhg}/{bp.diastolic_mmhg} mmHg "
            f"({'above' if above else 'within'} {systolic:g}/{diastolic:g}{whose})"
        )
        return Verdict(value=above, details=(ctx.dated("baseline_bp", detail),))


class UncontrolledHypertension(_Cond):
    """Blood pressure at or above the clinic's intervention level, or judged uncontrolled.

    The clinician's statement that blood pressure is not controlled decides; otherwise a baseline
    at or above the blood pressure at which the clinic intervenes in a session (clinic policy) is
    uncontrolled. A controlled statement does not outweigh such a reading.
    """

    uncontrolled_hypertension: Literal[True]

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        stated = facts.hypertension_uncontrolled
        if stated:
            return Verdict(value=True, details=("stated: blood pressure not controlled",))
        bp = facts.baseline_bp
        systolic, diastolic = (ctx.policy.number(p) for p in _INTERVENTION)
        if bp is not None and systolic is not None and diastolic is not None:
            high = bp.systolic_mmhg >= systolic or bp.diastolic_mmhg >= diastolic
            detail = (
                f"BP {bp.systolic_mmhg}/{bp.diastolic_mmhg} mmHg "
                f"({'at or above' if high else 'below'} the clinic's intervention level "
                f"{systolic:g}/{diastolic:g}: {ctx.policy.sources.get(_INTERVENTION[0], '')})"
            )
            return Verdict(value=high, details=(ctx.dated("baseline_bp", detail),))
        if stated is False:
            return Verdict(value=False, details=("stated: blood pressure controlled",))
        return _unknown(ctx.missing("baseline_bp", "baseline blood pressure"))


class AgeBelow(_Cond):
    age_below: int

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        if facts.age_years is None:
            return _unknown("age")
        return Verdict(value=facts.age_years < self.age_below, details=(f"age {facts.age_years}",))


class AgeAtLeast(_Cond):
    age_at_least: int

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        if facts.age_years is None:
            return _unknown("age")
        return Verdict(
            value=facts.age_years >= self.age_at_least, details=(f"age {facts.age_years}",)
        )


class FactSpec(_Cond):
    name: FactName
    is_: tuple[bool | str, ...] = Field(alias="is", min_length=1)


class FactIs(_Cond):
    fact: FactSpec

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        value = getattr(facts, self.fact.name)
        if value is None:
            return _unknown(ctx.missing(self.fact.name, self.fact.name.replace("_", " ")))
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        return Verdict(value=value in self.fact.is_, details=(f"{self.fact.name}: {shown}",))


class ScoreSpec(_Cond):
    """A stated cut, or ``policy: phq9-item9-cut`` for the clinic's PHQ-9 item 9 cut."""

    name: Literal["phq9_item9"]
    value: int | None = None
    policy: Literal["phq9-item9-cut"] | None = None


class ScoreAtLeast(_Cond):
    score_at_least: ScoreSpec

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        spec = self.score_at_least
        value = getattr(facts, spec.name)
        if value is None:
            return _unknown(ctx.missing(spec.name, spec.name.replace("_", " ")))
        cut: float | None = spec.value
        shown = ""
        if spec.policy is not None:
            cut = ctx.policy.number("phq9_item9_positive_at_or_above")
            where = ctx.policy.sources.get("phq9_item9_positive_at_or_above", "")
            shown = f" (clinic cut {cut:g}: {where})" if cut is not None else ""
        if cut is None:
            raise ValueError("score_at_least needs a value or a policy the clinic has set")
        detail = ctx.dated(spec.name, f"{spec.name} = {value}{shown}")
        return Verdict(value=value >= cut, details=(detail,))


class Missing(_Cond):
    missing: tuple[FactName, ...] = Field(min_length=1)

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        absent = [name for name in self.missing if getattr(facts, name) is None]
        details = tuple(
            ctx.missing(name, f"{name.replace('_', ' ')} not recorded") for name in absent
        )
        return Verdict(value=bool(absent), details=details)


class FailedTrialsAtLeast(_Cond):
    failed_trials_at_least: int = Field(ge=1)

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        if facts.antidepressant_trials is None:
            return _unknown("antidepressant treatment history (list trials, or record none)")
        assessments = assess_trials(facts.antidepressant_trials)
        failed = sorted({a.drug_id for a in assessments if a.failed and a.drug_id})
        open_trials = [a for a in assessments if not a.assessable]
        needed = self.failed_trials_at_least
        detail = f"{len(failed)} adequate failed antidepressant trial(s)" + (
            f": {', '.join(failed)}" if failed else ""
        )
        details = (detail, *(f"{a.trial.drug}: {' '.join(a.reasons)}" for a in open_trials))
        if len(failed) >= needed:
            return Verdict(value=True, details=(detail,))
        if len(failed) + len(open_trials) >= needed:
            return Verdict(
                value=None,
                missing=tuple(
                    f"dose, duration or outcome of the {a.trial.drug} trial" for a in open_trials
                ),
                details=details,
            )
        return Verdict(value=False, details=(f"{detail}; at least {needed} needed",))


class RecordedAny(_Cond):
    """Whether the record names any of these conditions as active: two-valued on purpose.

    Used for what is being treated, not for a risk: an indication nobody recorded is not an
    unknown fact (nobody has to rule out PTSD to treat depression).
    """

    recorded_any: tuple[ConditionId, ...] = Field(min_length=1)

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        statuses = facts.condition_statuses()
        found = [c for c in self.recorded_any if ConditionStatus.ACTIVE in statuses.get(c, set())]
        return Verdict(value=bool(found), details=tuple(f"recorded: {c}" for c in found))


class Always(_Cond):
    """A rule that always applies to the treatment (an experimental route, for instance)."""

    always: Literal[True]

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        return Verdict(value=True)


class AnyOf(_Cond):
    any_of: tuple[Condition, ...] = Field(min_length=1)

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        verdicts = [c.evaluate(facts, ctx) for c in self.any_of]
        true = [v for v in verdicts if v.value is True]
        if true:
            return Verdict(value=True, details=tuple(d for v in true for d in v.details))
        if any(v.value is None for v in verdicts):
            return _merge(None, verdicts)
        return _merge(False, verdicts)


class AllOf(_Cond):
    all_of: tuple[Condition, ...] = Field(min_length=1)

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        verdicts = [c.evaluate(facts, ctx) for c in self.all_of]
        false = [v for v in verdicts if v.value is False]
        if false:
            return Verdict(value=False, details=tuple(d for v in false for d in v.details))
        if any(v.value is None for v in verdicts):
            return _merge(None, verdicts)
        return _merge(True, verdicts)


class Not(_Cond):
    not_: Condition = Field(alias="not")

    def evaluate(self, facts: ScreeningInput, ctx: RuleContext) -> Verdict:
        inner = self.not_.evaluate(facts, ctx)
        value = None if inner.value is None else not inner.value
        return Verdict(value=value, missing=inner.missing, details=inner.details)


def _merge(value: bool | None, verdicts: list[Verdict]) -> Verdict:
    return Verdict(
        value=value,
        missing=tuple(m for v in verdicts for m in v.missing),
        details=tuple(d for v in verdicts for d in v.details),
    )


Condition = Union[  # noqa: UP007 (a recursive alias pydantic resolves by name)
    HasCondition, MedicationClassCondition, BpAbove, UncontrolledHypertension, AgeBelow,
    AgeAtLeast, FactIs, ScoreAtLeast, Missing, FailedTrialsAtLeast, RecordedAny, Always, AnyOf,
    AllOf, Not,
]  # fmt: skip

for _model in (AnyOf, AllOf, Not):
    _model.model_rebuild()
