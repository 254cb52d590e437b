"""Every questionnaire a demo patient fills in over the course, as a pure plan.

    plan_scores(seed, person, course, role) -> [PlannedScore, ...] (all of them, any date)

- the C-SSRS screener at intake (positive for some patients with suicidal ideation, which
  creates a same-day risk-assessment task when it is stored);
- the course's primary instrument (PHQ-9 or MADRS) at baseline, 24 hours, the end of induction and
  the follow-ups, sampled by ``synthetic.trajectories`` so the rates follow the cited figures;
- a QIDS-SR16 alongside it for part of the caseload and a PCL-5 for patients with PTSD; their totals
  follow the primary's relative change from baseline (a modelling choice, said in the data file);
- a GAD-7 at baseline, and weekly PHQ-9 and GAD-7 through the portal for the portal users;
- the O'Leary-Sant ICSI/ICPI with a bladder screen at the first maintenance visit (and the
  featured worsening a fortnight later).

The plan holds every form up to the end of the patient's follow-up, whatever the date; the loader
stores those already due. Each series draws from its own generator, so the answers of a form are
the same whichever day the demo is loaded, and a new series leaves the others unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np

from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.services.progress import portal_data
from ketaclinic.synthetic.cohort_model import ResolvedCourse
from ketaclinic.synthetic.demo_answers import answers_for_total
from ketaclinic.synthetic.demo_data import Role, demo_data, demo_id
from ketaclinic.synthetic.trajectories import cutoffs_for, sample_trajectories

if TYPE_CHECKING:
    from ketaclinic.synthetic.demo_plan import DemoPatient

# Series numbers for the per-series generators (never reuse one: answers would change).
_CSSRS, _QIDS, _PCL5, _GAD7, _PORTAL, _BLADDER = 101, 102, 103, 104, 105, 106


@dataclass(frozen=True)
class PlannedScore:
    instrument: str
    course_day: int
    administered_at: datetime
    answers: tuple[int, ...]
    response_id: str
    # Filled in by the patient through the portal (recorded as the patient), not at the clinic.
    by_patient: bool = False
    # Set on an O'Leary-Sant form: the bladder screen recorded with it (symptom ids).
    bladder_symptoms: tuple[str, ...] | None = None


def clinic_time(day: date, rng: np.random.Generator, tz: object) -> datetime:
    """A time in clinic hours, 08:00 to 16:00, on the quarter hour."""
    minutes = int(rng.integers(0, 33)) * 15
    return datetime.combine(day, time(8, 0), tzinfo=tz) + timedelta(minutes=minutes)  # type: ignore[arg-type]


def _interpolate(points: Sequence[tuple[int, int]], day: float) -> float:
    """The primary total on ``day``: linear between scored days, held after the last."""
    ordered = sorted(points)
    days = [d for d, _ in ordered]
    totals = [t for _, t in ordered]
    return float(np.interp(day, days, totals))


def _follow(baseline: int, primary: Sequence[tuple[int, int]], day: float, top: int) -> int:
    """A companion total that keeps the primary's relative change from baseline."""
    first = primary[0][1]
    share = _interpolate(primary, day) / first if first > 0 else 1.0
    return int(np.clip(round(baseline * share), 0, top))


def _cssrs_answers(rng: np.random.Generator, suicidal: bool) -> tuple[int, ...]:
    # q1 wish to be dead, q2 active thoughts, q3-q5 (asked only after q2), q6 lifetime behaviour,
    # q7 (asked only after q6). Moderate here is thoughts with a method (q3), never intent.
    if not suicidal:
        return (0, 0, 0, 0, 0, 0, 0)
    levels = demo_data().cssrs_intake_levels_with_suicidal_ideation
    moderate = rng.random() < levels["moderate"] / sum(levels.values())
    # Low: a wish to be dead and non-specific thoughts; moderate adds thoughts with a method.
    return (1, 1, int(moderate), 0, 0, 0, 0)


def maintenance_start_day(course: ResolvedCourse, protocol_id: str) -> int | None:
    """Course day of the first maintenance visit, from the protocol's phases (None without one)."""
    phases = get_protocol(protocol_id).phases
    maintenance = next((p for p in phases if p.kind == "maintenance"), None)
    if maintenance is None:
        return None
    return course.session_days[-1] + round(7 / maintenance.sessions_per_week)


class _Planner:
    """The forms of one patient; each series draws from its own generator."""

    def __init__(
        self, seed: int, person: DemoPatient, course: ResolvedCourse, role: Role | None
    ) -> None:
        self.seed, self.person, self.course, self.role = seed, person, course, role
        self.data = demo_data()
        self.conditions = {
            d["condition"] for d in person.diagnoses if d.get("status") != "ruled-out"
        }
        self.suicidal = "suicidal-ideation" in self.conditions
        self.start = person.course.first_session_at
        self.treated = role != "absolute-contraindication"

    def series(self, number: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.person.index, number])

    def response_id(self, instrument: str, *place: object) -> str:
        return demo_id(self.seed, "patient", self.person.index, "score", instrument, *place)

    def at(self, day: int, rng: np.random.Generator) -> datetime:
        if day == 0:
            # Baseline before the first dose (at the intake visit if never treated).
            if self.treated:
                return self.start - timedelta(minutes=30)
            return self.person.intake_at + timedelta(minutes=20)
        return clinic_time(self.start.date() + timedelta(days=day), rng, self.start.tzinfo)

    def quiet(self, instrument: str) -> set[str]:
        item = self.data.suicide_items.get(instrument)
        return {item} if item and not self.suicidal else set()

    def form(
        self, rng: np.random.Generator, instrument: str, day: int, total: int, **extra: object
    ) -> PlannedScore:
        answers = answers_for_total(rng, instrument, total, quiet_items=self.quiet(instrument))
        return PlannedScore(
            instrument, day, self.at(day, rng), answers, self.response_id(instrument, day),
            **extra,  # type: ignore[arg-type]
        )  # fmt: skip

    def primary(self, rng: np.random.Generator) -> list[tuple[int, int]]:
        """(course day, total) of the primary instrument, sampled to the cited rates."""
        course = self.course
        trajectory = sample_trajectories(
            rng,
            induction_end_day=np.array([course.session_days[-1]]),
            cutoffs=cutoffs_for(course.instrument),
            targets=course.targets,
        )
        points = [(0, int(trajectory.baseline_total[0])), (1, int(trajectory.total_24h[0]))]
        points.append((int(trajectory.end_score_day[0]), int(trajectory.total_end[0])))
        for column, day in enumerate(trajectory.follow_up_day):
            points.append((int(day), int(trajectory.total_follow_up[0, column])))
        dropped = self.person.course.dropped_out_after_day
        if not self.treated:
            return points[:1]
        return [(d, t) for d, t in points if dropped is None or d <= dropped]

    def companions(self, primary: list[tuple[int, int]]) -> Iterator[PlannedScore]:
        """QIDS-SR16 beside the primary for part of the caseload; PCL-5 for PTSD."""
        data, first = self.data, primary[0][1]
        qids = self.series(_QIDS)
        if qids.random() < data.qids_share:
            top = get_instrument("qids-sr16").max_total
            baseline = round(first / get_instrument(self.course.instrument).max_total * top)
            for day, _ in primary:
                yield self.form(qids, "qids-sr16", day, _follow(baseline, primary, day, top))
        pcl = self.series(_PCL5)
        if "ptsd" in self.conditions:
            low, high = data.pcl5_baseline_total
            baseline = int(pcl.integers(low, high + 1))
            last = primary[-1][0]
            for day in (0, *(d for d in data.pcl5_course_days if d <= last)):
                top = get_instrument("pcl5").max_total
                yield self.form(pcl, "pcl5", day, _follow(baseline, primary, day, top))

    def gad7_baseline(self) -> int | None:
        rng, data = self.series(_GAD7), self.data
        has_gad = "gad" in self.conditions
        if not (has_gad or rng.random() < data.gad7_share_without_gad or self.portal_user):
            return None
        low, high = data.gad7_baseline_total["with_gad" if has_gad else "without_gad"]
        return int(rng.integers(low, high + 1))

    @property
    def portal_user(self) -> bool:
        return self.person.portal_user

    def portal(self, primary: list[tuple[int, int]], gad7: int | None) -> Iterator[PlannedScore]:
        """Weekly PHQ-9 and GAD-7 from home, following the primary's course."""
        if not (self.portal_user and self.treated):
            return
        rng, data = self.series(_PORTAL), self.data
        every = portal_every_days()
        phq9_top = get_instrument("phq9").max_total
        scale = phq9_top / get_instrument(self.course.instrument).max_total
        dropped = self.person.course.dropped_out_after_day
        last_day = data.portal_weeks * 7 if dropped is None else dropped
        for day in range(every, last_day + 1, every):
            low, high = data.portal_hours
            moment = datetime.combine(
                self.start.date() + timedelta(days=day),
                time(int(rng.integers(low, high))), tzinfo=self.start.tzinfo,
            ) + timedelta(minutes=int(rng.integers(0, 60)))  # fmt: skip
            phq9 = int(np.clip(round(_interpolate(primary, day) * scale), 0, phq9_top))
            forms = [("phq9", phq9)]
            if gad7 is not None:
                gad7_top = get_instrument("gad7").max_total
                forms.append(("gad7", _follow(gad7, primary, day, gad7_top)))
            for instrument, total in forms:
                quiet = self.quiet(instrument)
                answers = answers_for_total(rng, instrument, total, quiet_items=quiet)
                yield PlannedScore(
                    instrument, day, moment, answers,
                    self.response_id(instrument, "portal", day), by_patient=True,
                )  # fmt: skip

    def bladder(self) -> Iterator[PlannedScore]:
        """O'Leary-Sant and a bladder screen at the first maintenance visit (and a worsening)."""
        first = maintenance_start_day(self.course, self.person.course.protocol_id)
        dropped = self.person.course.dropped_out_after_day
        if first is None or (dropped is not None and first > dropped):
            return
        rng = self.series(_BLADDER)
        clear = (0,) * len(get_instrument("oleary-sant").items)
        yield PlannedScore(
            "oleary-sant", first, self.at(first, rng), clear,
            self.response_id("oleary-sant", first), bladder_symptoms=(),
        )  # fmt: skip
        if self.role == "bladder-worsening":
            worse = self.data.bladder_worsening
            day = first + worse.after_days
            yield PlannedScore(
                "oleary-sant", day, self.at(day, rng), worse.oleary_sant_answers,
                self.response_id("oleary-sant", day), bladder_symptoms=worse.symptoms,
            )  # fmt: skip


def portal_every_days() -> int:
    """How often the portal asks for the PHQ-9 (web/data/patient_portal.yaml)."""
    return next(q.every_days for q in portal_data().questionnaires if q.id == "phq9")


def plan_scores(
    seed: int,
    person: DemoPatient,
    course: ResolvedCourse,
    role: Role | None,
    rng: np.random.Generator,
) -> list[PlannedScore]:
    """Every form the patient fills in (see the module docstring), in no particular order."""
    planner = _Planner(seed, person, course, role)
    primary = planner.primary(rng)
    planned = [planner.form(rng, course.instrument, day, total) for day, total in primary]
    cssrs = planner.series(_CSSRS)
    planned.append(
        PlannedScore(
            "cssrs-screener", 0, person.intake_at + timedelta(minutes=5),
            _cssrs_answers(cssrs, planner.suicidal), planner.response_id("cssrs-screener", 0),
        )
    )  # fmt: skip
    planned += planner.companions(primary)
    gad7 = planner.gad7_baseline()
    if gad7 is not None:
        rng_gad7 = planner.series(_GAD7)
        when = planner.at(0, rng_gad7) - timedelta(minutes=5)
        answers = answers_for_total(rng_gad7, "gad7", gad7)
        planned.append(PlannedScore("gad7", 0, when, answers, planner.response_id("gad7", 0)))
    planned += planner.portal(primary, gad7)
    if planner.treated:
        planned += planner.bladder()
    return planned
