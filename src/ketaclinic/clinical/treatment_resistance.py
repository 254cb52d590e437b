"""Treatment resistance from the medication history.

A trial is *adequate* when an antidepressant was taken at or above its minimum adequate daily
dose for at least the adequate duration (both from the catalogue, with sources). It *failed*
when it was adequate and the outcome counts as a failure (non-response or partial response by
default). Treatment-resistant depression is commonly defined as inadequate response to at least
two adequate trials of different antidepressants, so the count is of distinct drugs.

A trial whose dose or duration is unknown is not adequate, but it is marked not assessable so
screening can ask for the missing fact instead of treating it as a non-trial.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.medications import load_catalogue, lookup_drug

TrialOutcome = Literal["no-response", "partial-response", "response", "intolerance", "unknown"]


class AntidepressantTrial(BaseModel):
    """One course of an antidepressant as the history records it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drug: str = Field(min_length=1, description="Generic or brand name, as recorded.")
    dose_mg_per_day: float | None = Field(default=None, gt=0)
    duration_weeks: float | None = Field(default=None, gt=0)
    outcome: TrialOutcome = "unknown"


class TrialAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    trial: AntidepressantTrial
    drug_id: str | None
    adequate: bool
    failed: bool
    # False when a missing fact (dose, duration, outcome, unknown drug) prevents a judgement.
    assessable: bool
    reasons: tuple[str, ...]


def assess_trial(trial: AntidepressantTrial) -> TrialAssessment:
    adequacy = load_catalogue().adequacy
    drug = lookup_drug(trial.drug)
    reasons: list[str] = []
    assessable = True

    if drug is None:
        reasons.append(f"'{trial.drug}' is not in the drug catalogue; adequacy cannot be judged.")
        return TrialAssessment(
            trial=trial,
            drug_id=None,
            adequate=False,
            failed=False,
            assessable=False,
            reasons=tuple(reasons),
        )
    if not drug.is_antidepressant:
        reasons.append(f"{drug.name} is not an antidepressant; it does not count as a trial.")
        return TrialAssessment(
            trial=trial,
            drug_id=drug.id,
            adequate=False,
            failed=False,
            assessable=True,
            reasons=tuple(reasons),
        )

    dose_ok = _dose_adequate(trial, drug.adequate_min_dose_mg_per_day, drug.name, reasons)
    if dose_ok is None:
        assessable = False
    duration_ok: bool | None
    if trial.duration_weeks is None:
        reasons.append("Duration of the trial is not recorded.")
        duration_ok = None
        assessable = False
    elif trial.duration_weeks < adequacy.min_duration_weeks:
        reasons.append(
            f"{trial.duration_weeks:g} weeks is shorter than the adequate "
            f"{adequacy.min_duration_weeks:g} weeks."
        )
        duration_ok = False
    else:
        reasons.append(
            f"{trial.duration_weeks:g} weeks meets the "
            f"{adequacy.min_duration_weeks:g}-week minimum."
        )
        duration_ok = True

    adequate = dose_ok is True and duration_ok is True
    # A trial already known to be inadequate stays judgeable even if another fact is missing.
    if dose_ok is False or duration_ok is False:
        assessable = True
    failed = adequate and trial.outcome in adequacy.failed_outcomes
    if adequate and trial.outcome == "unknown":
        reasons.append("Outcome of the trial is not recorded.")
        assessable = False
    elif adequate and not failed:
        reasons.append(f"Outcome '{trial.outcome}' does not count as a failed trial.")
    elif failed:
        reasons.append(f"Adequate trial with outcome '{trial.outcome}': counts as failed.")
    return TrialAssessment(
        trial=trial,
        drug_id=drug.id,
        adequate=adequate,
        failed=failed,
        assessable=assessable,
        reasons=tuple(reasons),
    )


def _dose_adequate(
    trial: AntidepressantTrial, min_dose: float | None, drug_name: str, reasons: list[str]
) -> bool | None:
    if min_dose is None:
        reasons.append(f"The catalogue has no adequate oral dose for {drug_name}.")
        return None
    if trial.dose_mg_per_day is None:
        reasons.append("Daily dose of the trial is not recorded.")
        return None
    if trial.dose_mg_per_day < min_dose:
        reasons.append(
            f"{trial.dose_mg_per_day:g} mg/day is below the adequate "
            f"{min_dose:g} mg/day for {drug_name}."
        )
        return False
    reasons.append(f"{trial.dose_mg_per_day:g} mg/day meets the adequate {min_dose:g} mg/day.")
    return True


def assess_trials(trials: Iterable[AntidepressantTrial]) -> list[TrialAssessment]:
    return [assess_trial(trial) for trial in trials]


def count_adequate_failed_trials(trials: Iterable[AntidepressantTrial]) -> int:
    """Distinct antidepressants with an adequate, failed trial (one drug repeated counts once)."""
    failed_drugs = {a.drug_id for a in assess_trials(trials) if a.failed and a.drug_id is not None}
    return len(failed_drugs)
