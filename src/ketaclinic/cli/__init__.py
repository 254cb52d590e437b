"""The ``ketaclinic`` command.

Each module in this package that defines ``register(app)`` adds its commands; this file only
collects them and maps ketaclinic errors to exit codes, so adding a command touches one module.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from ketaclinic.errors import KetaclinicError

app = typer.Typer(
    name="ketaclinic",
    help=(
        "Run a supervised ketamine treatment programme. "
        "Supports clinical judgement; never replaces it."
    ),
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Run a supervised ketamine treatment programme."""


def _register_commands() -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_commands()


def main() -> None:
    try:
        app()
    except KetaclinicError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
