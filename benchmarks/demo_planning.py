"""Time the demo clinic's screenings and treatment plans against the rest of the demo load.

    .venv/bin/python benchmarks/demo_planning.py --patients 48

Loads the demo clinic twice into fresh SQLite files in the same run: once without the
"screenings and treatment plans" part (the baseline), once with it; prints both times, the
ratio, and what the planning part wrote. Then times ``planning.list_plans`` (every version
with its calendar, audited) for every planned patient of the loaded clinic.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

import ketaclinic.synthetic.demo as demo
from ketaclinic.services import planning
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.storage.database import (
    SessionFactory,
    make_engine,
    make_session_factory,
    transaction,
)
from ketaclinic.storage.migrate import upgrade
from ketaclinic.storage.tables.planning import ScreeningRow, TreatmentPlanRow

AS_OF = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
PLANNING_PART = "screenings and treatment plans"


def _fresh() -> SessionFactory:
    url = f"sqlite:///{tempfile.mkdtemp(prefix='ketaclinic-bench-')}/demo.db"
    upgrade(url)
    return make_session_factory(make_engine(url))


def _load(factory: SessionFactory, patients: int, with_planning: bool) -> float:
    everything = list(demo.DEMO_PARTS)
    if not with_planning:
        demo.DEMO_PARTS[:] = [p for p in everything if p[0] != PLANNING_PART]
    try:
        start = time.perf_counter()
        with transaction(factory) as db:
            demo.load_demo(db, RequestContext(SYSTEM, AS_OF), seed=1, patients_count=patients)
        return time.perf_counter() - start
    finally:
        demo.DEMO_PARTS[:] = everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=48)
    patients = parser.parse_args().patients

    baseline = _load(_fresh(), patients, with_planning=False)
    factory = _fresh()
    with_planning = _load(factory, patients, with_planning=True)
    print(f"demo load, {patients} patients, without planning  {baseline:8.2f} s")
    print(f"demo load, {patients} patients, with planning     {with_planning:8.2f} s")
    print(f"ratio                                       {with_planning / baseline:8.2f}")
    with factory() as db:
        print("screenings by decision:", dict(Counter(db.scalars(select(ScreeningRow.decision)))))
        plans = Counter(db.scalars(select(TreatmentPlanRow.protocol_id)))
        print("plans by protocol:", dict(plans))
        patient_ids = list(db.scalars(select(TreatmentPlanRow.patient_id).distinct()))
    start = time.perf_counter()
    with transaction(factory) as db:
        for patient_id in patient_ids:
            planning.list_plans(db, RequestContext(SYSTEM, AS_OF), patient_id)
    elapsed = time.perf_counter() - start
    print(f"list_plans for {len(patient_ids)} patients      {elapsed:8.2f} s")


if __name__ == "__main__":
    main()
