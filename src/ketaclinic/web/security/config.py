"""Security settings, from the environment (prefix ``KETACLINIC_``) like the other settings."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketaclinic.settings import Settings


class SecuritySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KETACLINIC_", env_file=".env", extra="ignore")

    idle_timeout_minutes: int = Field(
        default=15, ge=1, description="Sign a browser out after this long without a request."
    )
    max_failed_sign_ins_per_account: int = Field(default=5, ge=1)
    max_failed_sign_ins_per_ip: int = Field(default=20, ge=1)
    sign_in_throttle_window_minutes: int = Field(default=15, ge=1)
    password_minimum_length: int = Field(default=12, ge=8)
    invitation_valid_days: int = Field(default=7, ge=1)
    # None: Secure cookies exactly when the request came over HTTPS.
    secure_cookies: bool | None = None
    session_cookie_name: str = "kc_session"
    public_url: str | None = Field(
        default=None,
        description="The address people open the app at (e.g. https://clinic.example.org), used "
        "in invitation links; when unset, the address of the request.",
    )

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.idle_timeout_minutes)

    @property
    def throttle_window(self) -> timedelta:
        return timedelta(minutes=self.sign_in_throttle_window_minutes)


def load_secret_key(settings: Settings) -> str:
    """The configured secret, else one generated once into the data folder (owner-only file)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key
