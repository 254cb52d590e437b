"""Time the interoperability exports on the synthetic demo clinic and print the figures.

    .venv/bin/python benchmarks/interop_exports.py --patients 200

Loads the demo clinic into a fresh SQLite file (through the services, as ``ketaclinic demo load``
does), records a research consent for every patient, then times the identified FHIR export, the
de-identified FHIR, OMOP (CSV and Parquet) and registry exports, and re-parses every NDJSON line.
Then times the FHIR endpoint's work per request (``interop.fhir.server``, without HTTP): a read
by id and searches with and without ``patient``, identified and de-identified (median of a few
calls). Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from ketaclinic.interop.deidentify import Deidentifier, load_or_create_secret
from ketaclinic.interop.fhir import server
from ketaclinic.interop.fhir.export import export_ndjson
from ketaclinic.interop.fhir.source import all_patient_ids
from ketaclinic.interop.omop import export_omop
from ketaclinic.interop.registry import export_registry
from ketaclinic.services.consents import record_consent, research_consented_patient_ids
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.storage.database import make_engine, make_session_factory, transaction
from ketaclinic.storage.migrate import upgrade
from ketaclinic.synthetic.demo import load_demo


def _timed(label: str, work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = work()
    print(f"{label:<34} {time.perf_counter() - start:8.2f} s")
    return result


def _median_ms(work: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _first(folder: Path, kind: str) -> dict[str, Any]:
    with (folder / f"{kind}.ndjson").open() as handle:
        first: dict[str, Any] = json.loads(handle.readline())
        return first


def _endpoint_cases(db: Any, root: Path, key: Deidentifier) -> None:
    """Per-request work of /fhir: one read and searches, in the identified and de-identified
    views (every patient research-consented, so both views see all of them)."""
    ids = tuple(all_patient_ids(db))
    views = {
        "identified": (server.FhirView(None, None, identified=True), root / "fhir"),
        "de-identified": (server.FhirView(ids, key, identified=False), root / "fhir-d"),
    }
    for name, (view, folder) in views.items():
        _view_cases(db, name, view, folder)


def _view_cases(db: Any, name: str, view: server.FhirView, folder: Path) -> None:
    condition = _first(folder, "Condition")
    observation = _first(folder, "Observation")
    patient = observation["subject"]["reference"]
    code = observation["code"]["coding"][0]
    cases: dict[str, Callable[[], Any]] = {
        "read Condition/<id>": lambda: server.read(db, view, "Condition", condition["id"]),
        "read Observation/<id>": lambda: server.read(db, view, "Observation", observation["id"]),
        "search Observation?patient=": lambda: server.search(
            db, view, "Observation", patient=patient
        ),
        "search Patient (all)": lambda: server.search(db, view, "Patient"),
        "search Observation?code= (all)": lambda: server.search(
            db, view, "Observation", codes=[f"{code['system']}|{code['code']}"]
        ),
    }
    for label, work in cases.items():
        print(f"endpoint, {name}: {label:<32} {_median_ms(work):9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        ctx = RequestContext(SYSTEM, datetime.now(UTC))
        with transaction(factory) as db:
            _timed(
                f"demo load ({args.patients} patients)",
                lambda: load_demo(db, ctx, seed=1, patients_count=args.patients),
            )
        with transaction(factory) as db:
            # Every patient research-consented (the demo gives some a consent already).
            consented = set(research_consented_patient_ids(db, at=ctx.now))
            for patient_id in all_patient_ids(db):
                if patient_id not in consented:
                    record_consent(db, ctx, patient_id, "research")
        key = Deidentifier(load_or_create_secret(root / "data"), ctx.now.date())
        with transaction(factory) as db:
            ids = all_patient_ids(db)
            summary = _timed(
                "FHIR NDJSON, identified",
                lambda: export_ndjson(db, root / "fhir", ids, transaction_time=ctx.now),
            )
            _timed(
                "FHIR NDJSON, de-identified",
                lambda: export_ndjson(
                    db, root / "fhir-d", ids, deidentifier=key, transaction_time=ctx.now
                ),
            )
            _timed(
                "OMOP CSV, de-identified",
                lambda: export_omop(db, root / "omop", ids, as_of=ctx.now.date(), deidentifier=key),
            )
            _timed(
                "OMOP Parquet, identified",
                lambda: export_omop(db, root / "omop-pq", ids, as_of=ctx.now.date(), fmt="parquet"),
            )
            _timed(
                "registry (research dataset)",
                lambda: export_registry(db, ctx, root / "registry", key),
            )

        def reparse() -> int:
            lines = 0
            for path in (root / "fhir").glob("*.ndjson"):
                for line in path.read_text().splitlines():
                    raw = json.loads(line)
                    get_fhir_model_class(raw["resourceType"]).model_validate(raw)
                    lines += 1
            return lines

        lines = _timed("re-parse every NDJSON line", reparse)
        with transaction(factory) as db:
            _endpoint_cases(db, root, key)
        engine.dispose()
    print(f"resources exported: {sum(summary.counts.values())} ({lines} lines re-parsed)")
    print(f"resources by type: {summary.counts}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
