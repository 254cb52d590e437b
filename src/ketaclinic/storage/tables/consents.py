"""Consents: treatment, research (the registry reads research-consented patients only), REMS.

A consent is never deleted or edited in place: withdrawing it sets ``status`` to ``withdrawn`` and
``withdrawn_at``, so the record shows what was allowed when (a research export run before the
withdrawal was lawful; one run after it must leave the patient out).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaclinic.storage.tables.base import Base, Timestamps, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString


class ConsentRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_patient_kind", "patient_id", "kind"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    # "treatment", "research", "rems-enrolment" (ketaclinic.services.consents.ConsentKind).
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    # "active" or "withdrawn".
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    # The clinician who explained the treatment and took the signature (may differ from the
    # person typing it in); None on consents recorded before this was asked.
    obtained_by: Mapped[str | None] = mapped_column(String(200))
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # Where the signed form lives (a scanned document id, a file name, a URL in the clinic's DMS).
    document_ref: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
