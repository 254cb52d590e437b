"""``ketaclinic pk``: list the PK models, simulate one patient's plan, run a virtual population."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ketaclinic.clinical.vocabulary import Route, Sex
from ketaclinic.errors import InvalidInput, KetaclinicError

if TYPE_CHECKING:
    from ketaclinic.pharmacology import PopulationRequest, PopulationResult, Regimen

pk_app = typer.Typer(
    help="Pharmacokinetic models: predicted ketamine/esketamine concentrations.",
    no_args_is_help=True,
)

ModelOption = Annotated[str, typer.Option("--model", help="Model id (see 'ketaclinic pk models').")]
WeightOption = Annotated[
    str, typer.Option("--weight", help="Weight in kg, or a range 50-100 for populations.")
]
RouteOption = Annotated[
    str, typer.Option("--route", help="iv, im, intranasal, oral or sublingual.")
]
DoseOption = Annotated[str, typer.Option("--dose", help="Dose as 0.5mg/kg, 250ug/kg or 56mg.")]


def _route(text: str) -> Route:
    try:
        return Route(text.lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Route)
        raise InvalidInput(
            f"Route '{text}' is not known; use one of: {allowed}.", field="route"
        ) from None


def _sex(text: str | None) -> Sex | None:
    if text is None:
        return None
    try:
        return Sex(text.upper())
    except ValueError:
        raise InvalidInput("Sex must be F or M.", field="sex") from None


def _times(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(
            f"Times '{text}' must be minutes separated by commas, e.g. 0,10,40,120.", field="times"
        ) from None


def _weight(text: str) -> tuple[float, tuple[float, float] | None]:
    from ketaclinic.cli.pk_inputs import number_or_range

    return number_or_range(text, "weight", "kilograms")


def _steps(text: str) -> list[tuple[float, float]]:
    try:
        pairs = [part.split(":") for part in text.split(",") if part.strip()]
        return [(float(start), float(rate)) for start, rate in pairs]
    except ValueError:
        raise InvalidInput(
            f"Infusion steps '{text}' must be start_min:rate_mg_per_h pairs, e.g. "
            "0:52.5,20:0,25:52.5.",
            field="steps",
        ) from None


def _regimen(
    route_text: str,
    dose_text: str | None,
    weight_kg: float,
    duration_min: float | None,
    steps: str | None,
    stop_min: float | None,
    formulation: str | None,
    then: list[str] | None = None,
) -> tuple[Regimen, bool | None]:
    """The plan's regimen, and whether its doses were given per kg (None: a mix of both)."""
    from ketaclinic.cli.pk_inputs import later_dose
    from ketaclinic.pharmacology import Dose, Regimen, iv_infusion_steps, parse_dose_mg
    from ketaclinic.pharmacology.regimen import dose_is_per_kg

    route = _route(route_text)
    later = [later_dose(text, weight_kg) for text in then or []]
    if steps is not None:
        if route != Route.IV:
            raise InvalidInput("Infusion steps are for the iv route only.", field="steps")
        if stop_min is None:
            raise InvalidInput(
                "Give --stop (minutes) with --steps: when the last step ends.", field="stop"
            )
        first = iv_infusion_steps(_steps(steps), stop_min)
        per_kg = [False]
    else:
        if dose_text is None:
            raise InvalidInput(
                "Give --dose (e.g. 0.5mg/kg or 56mg), or --steps for an IV infusion.",
                field="dose",
            )
        amount = parse_dose_mg(dose_text, weight_kg)
        first = (Dose(route, amount, 0.0, duration_min or 0.0, formulation),)
        per_kg = [dose_is_per_kg(dose_text)]
    per_kg += [flag for _, flag in later]
    regimen = Regimen(first + tuple(dose for dose, _ in later))
    return regimen, all(per_kg) if len(set(per_kg)) == 1 else None


def register(app: typer.Typer) -> None:
    app.add_typer(pk_app, name="pk")


@pk_app.command("models")
def models_command(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the PK models with their population, structure, routes and source."""
    from ketaclinic.cli._output import print_json
    from ketaclinic.pharmacology import list_models

    rows = [m.to_json() for m in list_models()]
    if json_output:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['id']}: {row['name']}")
        typer.echo(f"  population: {row['population']}")
        typer.echo(f"  structure:  {row['structure']}; sampling site: {row['sampling_site']}")
        typer.echo(f"  routes:     {', '.join(row['routes'])}")
        typer.echo(f"  source:     {row['source']}")


@pk_app.command("simulate")
def simulate_command(
    model: ModelOption,
    weight: WeightOption,
    route: RouteOption,
    dose: DoseOption | None = None,
    age: Annotated[float | None, typer.Option("--age", help="Age in years.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="F or M.")] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="IV infusion minutes.")
    ] = None,
    steps: Annotated[
        str | None, typer.Option("--steps", help="IV rate steps start_min:mg_per_h,...")
    ] = None,
    stop: Annotated[
        float | None, typer.Option("--stop", help="End of the last rate step (min).")
    ] = None,
    times: Annotated[str | None, typer.Option("--times", help="Minutes, comma-separated.")] = None,
    discharge: Annotated[
        float | None, typer.Option("--discharge", help="Planned discharge (min).")
    ] = None,
    formulation: Annotated[str | None, typer.Option("--formulation")] = None,
    then: Annotated[
        list[str] | None,
        typer.Option(
            "--then",
            help="A later dose, route:dose@start_min[/duration_min], e.g. iv:0.25mg/kg@20/10 "
            "(repeat for more).",
        ),
    ] = None,
    asian: Annotated[bool, typer.Option("--asian")] = False,
    japanese: Annotated[bool, typer.Option("--japanese")] = False,
    effect_half_time: Annotated[
        float | None,
        typer.Option("--effect-half-time", help="Effect-site t1/2 ke0 in min (default 6.1)."),
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Where to write the PNG.")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Predict one patient's concentrations for a dose (typical subject, no variability)."""
    from ketaclinic.cli._output import fail, print_json
    from ketaclinic.pharmacology import Covariates, plot_concentration, predict_concentration

    try:
        weight_kg, weight_range = _weight(weight)
        if weight_range is not None:
            raise InvalidInput(
                "Give one weight for simulate (ranges are for populations).", field="weight"
            )
        covariates = Covariates(weight_kg, age, _sex(sex), asian or japanese, japanese)
        regimen, _ = _regimen(route, dose, weight_kg, duration, steps, stop, formulation, then)
        prediction = predict_concentration(
            model,
            covariates,
            regimen,
            _times(times),
            discharge_min=discharge,
            effect_half_time_min=effect_half_time,
        )
    except KetaclinicError as error:
        fail(error)
    for warning in prediction.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json_output:
        print_json(prediction.to_json())
        return
    typer.echo(f"{prediction.analyte} ({model} model), {prediction.sampling_site} plasma")
    typer.echo(
        f"{'time min':>9} {'plasma ng/mL':>13} {'effect ng/mL':>13}"
        + (
            f" {(prediction.metabolite or 'metabolite') + ' ng/mL':>22}"
            if prediction.metabolite_ng_ml is not None
            else ""
        )
    )
    for i, t in enumerate(prediction.times_min):
        line = (
            f"{t:9.1f} {prediction.concentration_ng_ml[i]:13.2f} "
            f"{prediction.effect_site_ng_ml[i]:13.2f}"
        )
        if prediction.metabolite_ng_ml is not None:
            line += f" {prediction.metabolite_ng_ml[i]:22.2f}"
        typer.echo(line)
    m = prediction.metrics
    typer.echo(
        f"Cmax {m.cmax_ng_ml:.1f} ng/mL at {m.tmax_min:.1f} min; AUC(0-{m.end_min:g} min) "
        f"{m.auc_0_t_ng_h_ml:.1f} ng·h/mL; AUC(0-inf) {m.auc_0_inf_ng_h_ml:.1f} ng·h/mL"
    )
    for band in m.bands:
        below = (
            f", falls below at {band.falls_below_at_min:.1f} min" if band.falls_below_at_min else ""
        )
        typer.echo(
            f"{band.band.label}: {band.minutes_within:.1f} min within, "
            f"{band.minutes_above:.1f} above{below}"
        )
    for note in prediction.notes:
        typer.echo(f"note: {note}")
    path = plot or Path(tempfile.gettempdir()) / f"ketaclinic-pk-{model}.png"
    image = plot_concentration(prediction)
    path.write_bytes(image if isinstance(image, bytes) else image.encode())
    typer.echo(f"plot: {path}")


@pk_app.command("population")
def population_command(
    model: ModelOption,
    weight: WeightOption,
    route: RouteOption,
    dose: DoseOption | None = None,
    subjects: Annotated[int, typer.Option("--subjects")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    age: Annotated[
        str | None, typer.Option("--age", help="Age in years, or a range 20-60 (uniform).")
    ] = None,
    sex: Annotated[str | None, typer.Option("--sex")] = None,
    female_fraction: Annotated[
        float | None, typer.Option("--female-fraction", help="Share of female subjects, 0-1.")
    ] = None,
    asian_fraction: Annotated[
        float | None, typer.Option("--asian-fraction", help="Share of Asian subjects, 0-1.")
    ] = None,
    japanese_fraction: Annotated[
        float | None,
        typer.Option("--japanese-fraction", help="Share of Japanese subjects (also Asian), 0-1."),
    ] = None,
    covariates_file: Annotated[
        Path | None,
        typer.Option(
            "--covariates",
            help="CSV of subject profiles (weight_kg, age_years, sex, asian, japanese), drawn "
            "with replacement.",
        ),
    ] = None,
    duration: Annotated[float | None, typer.Option("--duration")] = None,
    steps: Annotated[str | None, typer.Option("--steps")] = None,
    stop: Annotated[float | None, typer.Option("--stop")] = None,
    times: Annotated[str | None, typer.Option("--times")] = None,
    percentiles: Annotated[str, typer.Option("--percentiles")] = "5,50,95",
    observations: Annotated[
        bool, typer.Option("--observations", help="Add residual error.")
    ] = False,
    effect_half_time: Annotated[
        float | None,
        typer.Option("--effect-half-time", help="Add the effect site with this t1/2 ke0 (min)."),
    ] = None,
    formulation: Annotated[str | None, typer.Option("--formulation")] = None,
    then: Annotated[
        list[str] | None,
        typer.Option(
            "--then",
            help="A later dose, route:dose@start_min[/duration_min], e.g. iv:0.25mg/kg@20/10 "
            "(repeat for more).",
        ),
    ] = None,
    asian: Annotated[bool, typer.Option("--asian")] = False,
    japanese: Annotated[bool, typer.Option("--japanese")] = False,
    workers: Annotated[int | None, typer.Option("--workers")] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local (process pool) or spark.")
    ] = "local",
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="e.g. local[4] or spark://host:7077.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write .csv or .parquet.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Simulate a virtual population and print percentile bands.

    A per-kg dose is computed at each subject's own weight; a dose in mg is the same for all.
    """
    from ketaclinic.cli._output import fail, print_json
    from ketaclinic.cli.pk_inputs import number_or_range, read_covariate_table
    from ketaclinic.pharmacology import (
        Covariates,
        PopulationRequest,
        default_times_min,
        plot_concentration,
        simulate_population,
        write_population,
    )

    try:
        if engine not in ("local", "spark"):
            raise InvalidInput(
                f"Engine '{engine}' is not known; use local or spark.", field="engine"
            )
        weight_kg, weight_range = _weight(weight)
        age_years, age_range = (None, None) if age is None else number_or_range(age, "age", "years")
        covariates = Covariates(weight_kg, age_years, _sex(sex), asian or japanese, japanese)
        regimen, per_kg = _regimen(route, dose, weight_kg, duration, steps, stop, formulation, then)
        if per_kg is None and (weight_range is not None or covariates_file is not None):
            raise InvalidInput(
                "Give every dose per kg or every dose in mg when weights vary, so each subject's "
                "doses are computed one way.",
                field="then",
            )
        time_list = _times(times) or default_times_min(regimen).tolist()
        wanted = tuple(float(p) for p in percentiles.split(","))
        request = PopulationRequest(
            model,
            regimen,
            tuple(time_list),
            subjects,
            seed,
            covariates,
            weight_range_kg=weight_range,
            age_range_years=age_range,
            female_fraction=female_fraction,
            asian_fraction=asian_fraction,
            japanese_fraction=japanese_fraction,
            covariate_table=(
                None if covariates_file is None else read_covariate_table(covariates_file)
            ),
            per_kg_doses=bool(per_kg),
            observations=observations,
            effect_half_time_min=effect_half_time,
        )
        if engine == "spark":
            result = _run_on_spark(request, wanted, spark_master)
        else:
            result = simulate_population(
                request, percentiles=wanted, workers=workers, progress=not json_output
            )
        if output is not None:
            write_population(result, output)
    except (KetaclinicError, ValueError) as error:
        fail(error if isinstance(error, KetaclinicError) else InvalidInput(str(error)))
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json_output:
        print_json(result.to_json())
        return
    bands = result.bands_ng_ml["concentration"]
    typer.echo(f"{result.n_subjects:,} subjects, seed {result.seed}, {model} model")
    typer.echo(
        f"{'time min':>9} " + " ".join(f"{'p' + format(p, 'g'):>10}" for p in result.percentiles)
    )
    for i, t in enumerate(result.times_min):
        typer.echo(
            f"{t:9.1f} " + " ".join(f"{bands[r, i]:10.2f}" for r in range(len(result.percentiles)))
        )
    for note in result.notes:
        typer.echo(f"note: {note}")
    if output is not None:
        typer.echo(f"table: {output}")
    path = plot or Path(tempfile.gettempdir()) / f"ketaclinic-pk-population-{model}.png"
    image = plot_concentration(population=result)
    path.write_bytes(image if isinstance(image, bytes) else image.encode())
    typer.echo(f"plot: {path}")


def _run_on_spark(
    request: PopulationRequest, percentiles: tuple[float, ...], master: str | None
) -> PopulationResult:
    """The same run on Apache Spark (identical results for the same seed)."""
    from ketaclinic.cli.pk_inputs import spark_session
    from ketaclinic.pharmacology.distributed import run_population_spark

    spark = spark_session(master)
    try:
        return run_population_spark(request, spark, percentiles=percentiles)
    finally:
        spark.stop()
