"""Treatment protocols as data: dose, infusion, devices, schedule phases, limits and sources."""

from __future__ import annotations

from functools import cache
from importlib import resources

from ketaclinic.clinical.knowledge import load_knowledge
from ketaclinic.clinical.protocols.models import (
    AppliedSetting,
    DoseBasis,
    DoseSpec,
    HardLimits,
    Phase,
    Product,
    Protocol,
    ProtocolFile,
    RegionalProfile,
)
from ketaclinic.clinical.protocols.settings import setting_definitions
from ketaclinic.errors import ConfigurationError, InvalidInput

__all__ = [
    "AppliedSetting",
    "DoseBasis",
    "DoseSpec",
    "HardLimits",
    "Phase",
    "Product",
    "Protocol",
    "RegionalProfile",
    "all_protocols",
    "get_protocol",
]

_PACKAGE = "ketaclinic.clinical"


@cache
def all_protocols() -> tuple[Protocol, ...]:
    folder = resources.files(_PACKAGE).joinpath("data", "protocols")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    found: dict[str, Protocol] = {}
    for name in names:
        for protocol in load_knowledge(_PACKAGE, f"protocols/{name}", ProtocolFile).protocols:
            if protocol.id in found:
                raise ConfigurationError(f"Protocol id '{protocol.id}' is defined twice ({name}).")
            unknown = set(protocol.configurable) - set(setting_definitions())
            if unknown:
                raise ConfigurationError(
                    f"{protocol.id} ({name}) declares unknown configurable value(s): "
                    f"{', '.join(sorted(unknown))} (see data/protocol_settings.yaml)."
                )
            found[protocol.id] = protocol
    return tuple(found.values())


def get_protocol(protocol_id: str) -> Protocol:
    for protocol in all_protocols():
        if protocol.id == protocol_id:
            return protocol
    known = ", ".join(p.id for p in all_protocols())
    raise InvalidInput(
        f"Unknown protocol '{protocol_id}'. Known protocols: {known}.", field="protocol"
    )
