from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from interop_clinic import Clinic, build_clinic
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier, load_or_create_secret
from ketaclinic.services.context import RequestContext


@pytest.fixture
def clinic(db: Session, ctx: RequestContext) -> Clinic:
    return build_clinic(db, ctx)


@pytest.fixture
def deidentifier(tmp_path: Path, ctx: RequestContext) -> Deidentifier:
    return Deidentifier(load_or_create_secret(tmp_path / "data"), as_of=ctx.now.date())


@pytest.fixture
def as_of(ctx: RequestContext) -> date:
    return ctx.now.date()
