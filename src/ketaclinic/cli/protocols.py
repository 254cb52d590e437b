"""``ketaclinic protocols`` and ``ketaclinic dose``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from ketaclinic.cli._output import fail, print_json
from ketaclinic.clinical.dosing import WeightPolicy, calculate_dose
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import AppliedSetting, Protocol, all_protocols, get_protocol
from ketaclinic.clinical.protocols.settings import (
    apply_settings,
    sourced_value,
    validate_setting,
)
from ketaclinic.clinical.vocabulary import Sex
from ketaclinic.errors import InvalidInput, KetaclinicError


def protocol_summary(protocol: Protocol) -> dict[str, Any]:
    """What a prescriber needs to choose a protocol, with every source and unverified flag."""
    data = protocol.model_dump(mode="json", exclude={"sources"})
    data["verified"] = protocol.verified
    # A source shared by several parts (the vial strengths, say) is listed once.
    data["unverified_sources"] = list(
        dict.fromkeys(s.short() for s in protocol.all_sources() if not s.verified)
    )
    data["sources"] = [s.model_dump(mode="json", exclude_none=True) for s in protocol.sources]
    return data


def _override(
    limit_ids: list[str], reason: str | None, prescriber: str | None, at: str | None
) -> list[Override]:
    if not limit_ids:
        return []
    if reason is None or prescriber is None or at is None:
        raise InvalidInput(
            "--override-limit needs --reason, --prescriber and --at (ISO date-time).",
            field="override",
        )
    try:
        when = datetime.fromisoformat(at)
    except ValueError as exc:
        raise InvalidInput(f"--at '{at}' is not an ISO date-time (2026-03-02T09:15).") from exc
    return [
        Override.create(
            rule_ids=limit_ids, reason=reason, prescriber_id=prescriber, overridden_at=when
        )
    ]


def _try_settings(protocol_id: str, pairs: list[str], at: datetime) -> Protocol:
    """The protocol with clinic settings tried on the command line (nothing is stored)."""
    protocol = get_protocol(protocol_id)
    applied = []
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise InvalidInput(f"--setting {pair!r}: write SETTING=VALUE.", field="setting")
        text = raw.strip()
        value: Any = None if text.lower() == "none" else text
        if value is not None and "," in text:
            value = [part.strip() for part in text.split(",") if part.strip()]
        setting_id = name.strip()
        applied.append(
            AppliedSetting(
                setting_id=setting_id, value=validate_setting(protocol, setting_id, value),
                default_value=sourced_value(protocol, setting_id),
                reason="tried on the command line", changed_by="command line", changed_at=at,
            )
        )  # fmt: skip
    return apply_settings(protocol, applied)


def register(app: typer.Typer) -> None:
    @app.command("protocols")
    def protocols_command() -> None:
        """List the treatment protocols with doses, schedules, limits and their sources."""
        print_json([protocol_summary(p) for p in all_protocols()])

    @app.command("dose")
    def dose_command(
        protocol: Annotated[str, typer.Option(help="Protocol id (see `ketaclinic protocols`).")],
        weight: Annotated[float, typer.Option(help="Weight in kg.")],
        height: Annotated[float | None, typer.Option(help="Height in cm.")] = None,
        sex: Annotated[
            Sex | None, typer.Option(help="F or M (needed for ideal/adjusted weight).")
        ] = None,
        concentration: Annotated[
            float | None, typer.Option(help="Vial or solution strength, mg/mL.")
        ] = None,
        bag_ml: Annotated[float | None, typer.Option("--bag-ml", help="Infusion bag, mL.")] = None,
        duration: Annotated[float | None, typer.Option(help="Infusion time, minutes.")] = None,
        dose_mg_per_kg: Annotated[float | None, typer.Option("--dose-mg-per-kg")] = None,
        dose_mg: Annotated[
            float | None, typer.Option("--dose-mg", help="Fixed-dose products.")
        ] = None,
        policy: Annotated[
            WeightPolicy | None,
            typer.Option(help="Body-weight policy (default: the protocol's, normally actual)."),
        ] = None,
        first_session: Annotated[bool, typer.Option("--first-session")] = False,
        region: Annotated[
            str | None, typer.Option(help="Regional profile id, e.g. eu-65-and-over.")
        ] = None,
        age: Annotated[int | None, typer.Option(help="Age in years (regional profiles).")] = None,
        override_limit: Annotated[
            list[str] | None, typer.Option("--override-limit", help="Limit id to override.")
        ] = None,
        reason: Annotated[str | None, typer.Option(help="Written reason for the override.")] = None,
        prescriber: Annotated[
            str | None, typer.Option(help="Prescriber id for the override.")
        ] = None,
        at: Annotated[str | None, typer.Option(help="When the override was made (ISO).")] = None,
        setting: Annotated[
            list[str] | None,
            typer.Option(
                "--setting", help="Try a clinic setting, e.g. limits.max_mg_per_session=200."
            ),
        ] = None,
    ) -> None:
        """Compute a session dose: mg, mg/kg, volume, bag and pump rate, or esketamine devices."""
        try:
            overrides = _override(override_limit or [], reason, prescriber, at)
            tried = _try_settings(protocol, setting or [], datetime.now().astimezone())
            result = calculate_dose(
                tried,
                weight,
                height_cm=height,
                sex=sex,
                concentration_mg_per_ml=concentration,
                bag_ml=bag_ml,
                duration_min=duration,
                dose_mg_per_kg=dose_mg_per_kg,
                dose_mg=dose_mg,
                policy=policy,
                first_session=first_session,
                regional_profile=region,
                age_years=age,
                overrides=overrides,
            )
        except KetaclinicError as exc:
            fail(exc)
        print_json(result.model_dump(mode="json"))
