"""``ketaclinic score`` and ``ketaclinic instruments``: the questionnaire engine from a shell.

Other tools call ``score`` and read one JSON object from standard output; any invalid input exits
with status 2 and a message on standard error, so a script never mistakes an error for a score.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ketaclinic.cli._output import fail, print_json
from ketaclinic.clinical.questionnaires import Instrument, list_instruments, score
from ketaclinic.errors import InvalidInput, KetaclinicError, NotFound


def _parse_answers(raw: str) -> Any:
    try:
        answers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"--answers is not valid JSON ({exc.msg} at character {exc.pos}); give an array in "
            'published item order, e.g. [0,1,2], or an object keyed by item id, e.g. {"q1": 0}.',
            field="answers",
        ) from None
    if not isinstance(answers, list | dict):
        raise InvalidInput(
            "--answers must be a JSON array (published item order) or object (keyed by item id).",
            field="answers",
        )
    return answers


def _parse_cutoffs(pairs: list[str]) -> dict[str, float | None]:
    cutoffs: dict[str, float | None] = {}
    for pair in pairs:
        rule_id, sep, value = pair.partition("=")
        if not sep or not rule_id:
            raise InvalidInput(f"--cutoff {pair!r} must look like RULE=VALUE or RULE=none.")
        if value.lower() == "none":
            cutoffs[rule_id] = None
            continue
        try:
            cutoffs[rule_id] = float(value)
        except ValueError:
            raise InvalidInput(f"--cutoff {pair!r}: {value!r} is not a number.") from None
    return cutoffs


def _row(instrument: Instrument) -> dict[str, Any]:
    return {
        "id": instrument.id,
        "name": instrument.name,
        "version": instrument.version,
        "items": len(instrument.items),
        "min_total": instrument.min_total,
        "max_total": instrument.max_total,
        "loinc_total": instrument.loinc_total,
        "loinc_panel": instrument.loinc_panel,
        "text_shipped": instrument.text_shipped,
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    headers = ["id", "name", "items", "range", "LOINC total", "version"]
    table = [
        [
            row["id"],
            row["name"],
            str(row["items"]),
            f"{row['min_total']}-{row['max_total']}",
            row["loinc_total"] or "-",
            row["version"],
        ]
        for row in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for line in table:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score_command(
        instrument: Annotated[str, typer.Argument(help="Instrument id, e.g. phq9.")],
        answers: Annotated[
            str,
            typer.Option(help="JSON array in published item order, or object keyed by item id."),
        ],
        cutoff: Annotated[
            list[str] | None,
            typer.Option(help="RULE=VALUE: choose one of a rule's cited cut-offs (repeatable)."),
        ] = None,
        baseline_total: Annotated[
            float | None,
            typer.Option(help="Pre-dose total, for rules that need a rise over baseline."),
        ] = None,
        band_set: Annotated[
            str | None,
            typer.Option(help="A cited alternative set of severity bands, where sources differ."),
        ] = None,
    ) -> None:
        """Score one completed questionnaire and print the result as JSON."""
        try:
            result = score(
                instrument,
                _parse_answers(answers),
                cutoffs=_parse_cutoffs(cutoff or []),
                baseline_total=baseline_total,
                band_set=band_set,
            )
        except NotFound as error:
            # The CLI contract: an unknown instrument is bad input like any other (status 2).
            fail(InvalidInput(error.message, field=error.field))
        except KetaclinicError as error:
            fail(error)
        print_json(result.to_json())

    @app.command("instruments")
    def instruments_command(
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON instead of a table.")
        ] = False,
    ) -> None:
        """List the rating instruments: id, name, version, items, score range and LOINC code."""
        rows = [_row(instrument) for instrument in list_instruments()]
        if as_json:
            print_json(rows)
        else:
            _print_table(rows)
