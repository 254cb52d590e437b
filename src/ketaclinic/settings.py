"""Installation settings, read from the environment (prefix ``KETACLINIC_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETACLINIC_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the embedded database lives.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; the embedded SQLite file when unset."
    )
    secret_key: str | None = Field(
        default=None, description="Signs session cookies; generated into data_dir when unset."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    clinic_timezone: str = Field(
        default="UTC",
        description="The clinic's IANA time zone (e.g. Europe/London, America/Los_Angeles): its "
        "calendar day and the times every page and report shows. Times are stored in UTC.",
    )
    fhir_mrn_systems: str = Field(
        default="",
        description="FHIR identifier systems (comma-separated URIs) whose values are this "
        "clinic's clinic numbers, besides ketaclinic's own: 'ketaclinic import fhir' matches "
        "patients by them (e.g. the hospital system that issued the numbers).",
    )

    @property
    def fhir_mrn_system_list(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.fhir_mrn_systems.split(",") if s.strip())

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"KETACLINIC_CLINIC_TIMEZONE: '{value}' is not a time zone; use an IANA name such "
                "as UTC, Europe/London, America/New_York or Pacific/Auckland"
            ) from None
        return value

    @property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ketaclinic.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
