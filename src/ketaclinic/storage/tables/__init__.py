"""Every table of ketaclinic. Importing this package registers them all on ``Base.metadata``.

Each module below defines the tables of one domain; a new domain adds one import line here so that
Alembic autogenerate and the test fixtures see its tables.
"""

from ketaclinic.storage.tables import (
    access,
    consents,
    measurements,
    patients,
    planning,
    policy,
    safety,
    sessions,
)
from ketaclinic.storage.tables.base import Base

__all__ = [
    "Base",
    "access",
    "consents",
    "measurements",
    "patients",
    "planning",
    "policy",
    "safety",
    "sessions",
]
