"""``ketaclinic export fhir|omop|registry`` and ``ketaclinic import fhir``.

All act on the configured database (``KETACLINIC_DATABASE_URL``, else the SQLite file under
``KETACLINIC_DATA_DIR``). ``--deidentified`` exports (and the registry, always de-identified)
include only patients whose research consent is in force, de-identified with the clinic's secret
from the data folder (created on first use, never exported). Every export is recorded in the audit
trail as the system acting on the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from sqlalchemy.orm import Session

from ketaclinic.cli._output import fail, print_json
from ketaclinic.errors import InvalidInput, KetaclinicError
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.settings import Settings

if TYPE_CHECKING:
    from ketaclinic.interop.deidentify import Deidentifier

CLI_ACTOR = Actor(user_id=None, role="system", display_name="ketaclinic command line")


@contextmanager
def clinic_session() -> Iterator[tuple[Session, RequestContext, Settings]]:
    from ketaclinic.storage.database import make_engine, make_session_factory, transaction

    settings = Settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        with transaction(make_session_factory(engine)) as db:
            yield db, RequestContext(CLI_ACTOR, datetime.now(UTC)), settings
    finally:
        engine.dispose()


@contextmanager
def _progress(label: str, total: int, shown: bool) -> Iterator[Callable[[int], None]]:
    if not shown:
        yield lambda _n: None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def clinic_deidentifier(settings: Settings, ctx: RequestContext) -> Deidentifier:
    from ketaclinic.interop.deidentify import Deidentifier, load_or_create_secret

    return Deidentifier(load_or_create_secret(settings.data_dir), ctx.now.date())


def _audit(db: Session, ctx: RequestContext, what: str, detail: dict[str, object]) -> None:
    from ketaclinic.services.audit import record_event

    record_event(db, ctx.actor, f"export.{what}", "export", None, detail=detail, now=ctx.now)


def _patients(
    db: Session, ctx: RequestContext, deidentified: bool, patient: str | None
) -> list[str]:
    from ketaclinic.interop.fhir.source import all_patient_ids
    from ketaclinic.services.consents import research_consented_patient_ids
    from ketaclinic.services.patients import get_patient_row

    ids = research_consented_patient_ids(db, at=ctx.now) if deidentified else all_patient_ids(db)
    if patient is None:
        return ids
    get_patient_row(db, patient)
    if patient not in ids:
        raise InvalidInput(
            f"Patient {patient} has no research consent in force: a de-identified export "
            "may not include them. Record the research consent first, or export identified.",
            field="patient",
        )
    return [patient]


def export_fhir(
    out: Annotated[Path, typer.Option(help="Folder for the NDJSON files (one per resource type).")],
    deidentified: Annotated[
        bool, typer.Option(help="Research-consented patients, Safe Harbor.")
    ] = False,
    patient: Annotated[
        str | None, typer.Option(help="One patient id: also writes its $everything Bundle.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """FHIR R4 Bulk Data NDJSON export; every reference resolves inside the export."""
    from ketaclinic.interop.fhir.export import export_ndjson, patient_bundle

    try:
        with clinic_session() as (db, ctx, settings):
            key = clinic_deidentifier(settings, ctx) if deidentified else None
            ids = _patients(db, ctx, deidentified, patient)
            with _progress("FHIR export", len(ids), progress) as tick:
                summary = export_ndjson(
                    db, out, ids, deidentifier=key, transaction_time=ctx.now, progress=tick
                )
            if patient is not None:
                bundle = patient_bundle(db, patient, deidentifier=key, timestamp=ctx.now)
                (out / "everything.json").write_text(
                    bundle.model_dump_json(exclude_none=True), encoding="utf-8"
                )
            _audit(db, ctx, "fhir", {"patients": summary.patients, "deidentified": deidentified})
    except KetaclinicError as error:
        fail(error)
    print_json({"out": str(out), "patients": summary.patients, "resources": summary.counts})


def export_omop(
    out: Annotated[Path, typer.Option(help="Folder for the seven OMOP CDM v5.4 tables.")],
    format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    deidentified: Annotated[
        bool, typer.Option(help="Research-consented patients, Safe Harbor.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """OMOP CDM v5.4 tables; concept choices in docs/omop-mapping.md."""
    from ketaclinic.interop.omop import export_omop as write_omop

    try:
        with clinic_session() as (db, ctx, settings):
            key = clinic_deidentifier(settings, ctx) if deidentified else None
            ids = _patients(db, ctx, deidentified, None)
            with _progress("OMOP export", len(ids), progress) as tick:
                summary = write_omop(
                    db, out, ids, as_of=ctx.now.date(), fmt=format, deidentifier=key, progress=tick
                )
            _audit(db, ctx, "omop", {"patients": len(ids), "deidentified": deidentified})
    except KetaclinicError as error:
        fail(error)
    print_json({"out": str(out), "format": format, "rows": summary.counts})


def export_registry(
    out: Annotated[
        Path, typer.Option(help="Folder for the research dataset (docs/research-dataset.md).")
    ],
    site: Annotated[str, typer.Option(help="This clinic's site id within a network.")] = "site-1",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """The de-identified registry of research-consented patients, as the research dataset."""
    from ketaclinic.interop.fhir.source import all_patient_ids
    from ketaclinic.interop.registry import export_registry as write_registry

    try:
        with clinic_session() as (db, ctx, settings):
            key = clinic_deidentifier(settings, ctx)
            total = len(all_patient_ids(db))
            with _progress("Registry export", total, progress) as tick:
                summary = write_registry(
                    db, ctx, out, key, site_id=site, total_patients=total, progress=tick
                )
            _audit(db, ctx, "registry", {"patients": summary.patients})
    except KetaclinicError as error:
        fail(error)
    print_json(
        {
            "out": str(out),
            "patients": summary.patients,
            "left_out_without_research_consent": summary.left_out_without_consent,
            "rows": summary.counts,
        }
    )


def import_fhir(
    file: Annotated[
        Path,
        typer.Argument(
            help="NDJSON, a Bundle, one resource (JSON), or a Bulk Data export folder.",
            exists=True,
        ),
    ],
    mrn_system: Annotated[
        list[str] | None,
        typer.Option(
            help="An identifier system whose values are this clinic's clinic numbers (repeat "
            "for several); default: KETACLINIC_FHIR_MRN_SYSTEMS."
        ),
    ] = None,
) -> None:
    """Import QuestionnaireResponse and vital-sign Observation resources, all or nothing."""
    from ketaclinic.interop.fhir.importer import import_fhir_file

    try:
        with clinic_session() as (db, ctx, settings):
            systems = mrn_system if mrn_system else settings.fhir_mrn_system_list
            summary = import_fhir_file(db, ctx, file, mrn_systems=systems)
    except KetaclinicError as error:
        fail(error)
    print_json(
        {
            "file": str(file),
            "questionnaire_responses": summary.questionnaire_responses,
            "vital_sign_sets": summary.vital_sign_sets,
            "already_imported": summary.already_imported,
            "patients_matched": summary.patients_matched,
            "skipped": summary.skipped,
        }
    )


def register(app: typer.Typer) -> None:
    export_app = typer.Typer(
        help="Export the clinic's data: FHIR R4, OMOP CDM, research registry.", no_args_is_help=True
    )
    export_app.command("fhir")(export_fhir)
    export_app.command("omop")(export_omop)
    export_app.command("registry")(export_registry)
    import_app = typer.Typer(help="Import data from another system.", no_args_is_help=True)
    import_app.command("fhir")(import_fhir)
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
