"""The cohort report of the clinic's own database, kept for a while (the web app's research page).

Building the de-identified registry and analysing it takes seconds on a clinic database, too
long for every page view, so a snapshot is kept: its registry folder (private, removed when the
snapshot is replaced), the report, and the rendered page body and PDF once asked for. A snapshot is
replaced when the set of patients with a research consent in force changes (a withdrawal takes
effect at the next view), when it is older than ``MAX_AGE``, or on request.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tempfile
import threading
import weakref
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq
from markupsafe import Markup
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.registry import SCHEMAS, RegistrySummary, export_registry
from ketaclinic.reports.cohort import (
    DEFAULT_TITLE,
    CohortReport,
    build_report,
    cohort_report_body,
    cohort_report_pdf,
)
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import RequestContext

# Not a clinical number: how stale a page may be before it is rebuilt without being asked.
MAX_AGE = timedelta(minutes=10)
RegistryFormat = Literal["parquet", "csv"]
FORMATS: tuple[RegistryFormat, ...] = ("parquet", "csv")


def _consent_fingerprint(patient_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(patient_ids).encode()).hexdigest()


@dataclass
class CohortSnapshot:
    folder: Path
    registry: RegistrySummary
    report: CohortReport
    built_at: datetime
    consents: str
    _body: Markup | None = field(default=None, repr=False)
    _pdf: bytes | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def body(self) -> Markup:
        with self._lock:
            if self._body is None:
                self._body = cohort_report_body(self.report)
            return self._body

    def pdf(self) -> bytes:
        with self._lock:
            if self._pdf is None:
                buffer = io.BytesIO()
                cohort_report_pdf(self.report, buffer, DEFAULT_TITLE)
                self._pdf = buffer.getvalue()
            return self._pdf

    def registry_zip(self, fmt: str) -> bytes:
        """The registry tables as one zip: Parquet folders as written, or one CSV per table;
        ``dataset.json`` (provenance) in both."""
        if fmt not in FORMATS:
            raise InvalidInput(
                f"format={fmt} is not offered; use one of: {', '.join(FORMATS)}.", field="format"
            )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(self.folder / "dataset.json", "dataset.json")
            for name in SCHEMAS:
                parquet = self.folder / name / "part-00000.parquet"
                if fmt == "parquet":
                    archive.write(parquet, f"{name}/part-00000.parquet")
                else:
                    archive.writestr(f"{name}.csv", _csv(parquet))
        return buffer.getvalue()


def _csv(parquet: Path) -> str:
    table = pq.read_table(parquet)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(["" if value is None else value for value in row.values()])
    return out.getvalue()


def build_snapshot(
    db: Session, ctx: RequestContext, deidentifier: Deidentifier, *, site_id: str = "site-1"
) -> CohortSnapshot:
    folder = Path(tempfile.mkdtemp(prefix="ketaclinic-research-"))
    try:
        registry = export_registry(db, ctx, folder, deidentifier, site_id=site_id)
        report = build_report(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    consents = _consent_fingerprint(research_consented_patient_ids(db, at=ctx.now))
    snapshot = CohortSnapshot(folder, registry, report, ctx.now, consents)
    # The folder goes when nothing uses the snapshot any more (a download still reading an old
    # one keeps it), or when the process ends.
    weakref.finalize(snapshot, shutil.rmtree, folder, True)
    return snapshot


class SnapshotCache:
    """One snapshot per app process; builds are serialised so two views never build twice."""

    def __init__(self) -> None:
        self._current: CohortSnapshot | None = None
        self._lock = threading.Lock()

    def get(
        self,
        db: Session,
        ctx: RequestContext,
        deidentifier: Deidentifier,
        *,
        rebuild: bool = False,
    ) -> CohortSnapshot:
        consents = _consent_fingerprint(research_consented_patient_ids(db, at=ctx.now))
        with self._lock:
            current = self._current
            fresh = (
                current is not None
                and not rebuild
                and current.consents == consents
                and timedelta(0) <= ctx.now - current.built_at <= MAX_AGE
            )
            if fresh and current is not None:
                return current
            self._current = build_snapshot(db, ctx, deidentifier)
            return self._current
