"""What one demo session brings, drawn from its own generator (its id comes from the seed):
the size of its blood-pressure rise, how the rise runs over the session, and its adverse events.

    SessionDraw(session_id, course_type).rise_mmhg(minutes_since_dose) -> (systolic, diastolic)
    SessionDraw(session_id, course_type).events -> {term: severity}

The peak rise and the adverse-event rates are the cohort model's (``cohort_model.yaml``, per
course); the time course (up to the peak, back to baseline) is ``demo_clinic.yaml``'s, from the
clinical reference. Pure: no I/O, no clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from ketaclinic.synthetic.cohort_model import cohort_model, normal
from ketaclinic.synthetic.demo_data import demo_data
from ketaclinic.synthetic.demo_plan import course_of


@dataclass
class SessionDraw:
    session_id: str
    course_type: str
    _peak: float | None = field(default=None, repr=False)
    _events: dict[str, str] | None = field(default=None, repr=False)

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([uuid.UUID(self.session_id).int, stream])

    @property
    def peak_rise_mmhg(self) -> float:
        """The systolic rise at the session's peak (no fall below the baseline)."""
        if self._peak is None:
            course = course_of(self.course_type)
            self._peak = max(0.0, float(normal(self._rng(0), course.systolic_rise_mmhg, 1)[0]))
        return self._peak

    def rise_share(self, since_dose_min: float) -> float:
        """Share of the peak rise ``since_dose_min`` after the dose began: a straight rise to the
        peak, then a straight fall back to the baseline."""
        shape = demo_data().bp_rise_over_session
        if since_dose_min <= 0:
            return 0.0
        if since_dose_min <= shape.peak_minutes:
            return since_dose_min / shape.peak_minutes
        fall = shape.back_to_baseline_minutes - shape.peak_minutes
        return max(0.0, 1 - (since_dose_min - shape.peak_minutes) / fall)

    def rise_mmhg(self, since_dose_min: float) -> tuple[int, int]:
        """(systolic, diastolic) rise over the baseline at that time."""
        systolic = self.peak_rise_mmhg * self.rise_share(since_dose_min)
        diastolic = systolic * cohort_model().vitals.diastolic_rise_share_of_systolic
        return round(systolic), round(diastolic)

    def dissociated(self, since_dose_min: float) -> bool:
        """A session that brings dissociation shows it on the scales while the dose acts."""
        peak = demo_data().bp_rise_over_session.peak_minutes
        return "dissociation" in self.events and 0 < since_dose_min <= peak

    @property
    def events(self) -> dict[str, str]:
        """Adverse-event terms the session brings (term -> severity), at the course's rates."""
        if self._events is None:
            course = course_of(self.course_type)
            weights = cohort_model().adverse_events.severity_weights
            shares = np.array(list(weights.values()))
            rng = self._rng(1)
            self._events = {}
            for term, share in sorted(course.adverse_event_per_session.items()):
                if rng.random() < share:
                    self._events[term] = str(rng.choice(list(weights), p=shares / shares.sum()))
        return self._events
