"""Treatment protocols as data: dose, infusion, devices, schedule phases, limits and sources."""

from __future__ import annotations

from functools import cache
from importlib import resources

from ketaclinic.clinical.knowledge import load_knowledge
from ketaclinic.clinical.protocols.models import (
    DoseBasis,
    DoseSpec,
    HardLimits,
    Phase,
    Product,
    Protocol,
    ProtocolFile,
    RegionalProfile,
)
from ketaclinic.errors import ConfigurationError, InvalidInput

__all__ = [
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
