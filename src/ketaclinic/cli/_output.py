"""Helpers every command shares: JSON printing and turning errors into exit codes."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer

from ketaclinic.errors import KetaclinicError


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, sort_keys=False, default=str))


def fail(error: KetaclinicError) -> NoReturn:
    """Print the message on standard error and exit with the error's code."""
    typer.echo(f"error: {error.message}", err=True)
    raise typer.Exit(code=error.exit_code)
