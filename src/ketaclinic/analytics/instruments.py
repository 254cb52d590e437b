"""One depression scale per course where figures pool scales (data/primary_instrument.yaml).

A course scored on MADRS and PHQ-9 would otherwise count twice in a pooled figure (a
Kaplan-Meier curve "for everyone", a "mixed" published figure), and a course scored on PHQ-9 and
GAD-7 would mix depression and anxiety relapses. Pooled figures therefore read each course on its
primary depression scale only: the first scale of the configured order on which the course has a
baseline and a later score. The choice is made per course, once, before any outcome is known.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge

# The instrument label of rows read on each course's primary depression scale.
PRIMARY_DEPRESSION = "depression (primary scale)"


class PrimaryInstrumentRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: tuple[str, ...] = Field(min_length=1)
    reason: str
    source: Source


class _PrimaryInstrumentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    primary_depression_instrument: PrimaryInstrumentRule


def primary_depression_rule() -> PrimaryInstrumentRule:
    return load_knowledge(
        "ketaclinic.analytics", "primary_instrument.yaml", _PrimaryInstrumentFile
    ).primary_depression_instrument


def depression_instruments() -> tuple[str, ...]:
    return primary_depression_rule().order


def mark_primary_scale(table: ir.Table, post: ir.Table) -> ir.Table:
    """``table`` (keyed by course and instrument) with ``on_primary_scale``: whether the row's
    instrument is its course's primary depression scale, chosen from the assessments ``post``
    (see ``course_outcomes.assessments``). Marking rows, rather than computing pooled figures on
    a second copy of the data, keeps a cohort report to one pass per question."""
    order = depression_instruments()
    eligible = post.filter(post.instrument.isin(list(order)))
    ranked = eligible.mutate(
        scale_rank=ibis.cases(*[(eligible.instrument == name, i) for i, name in enumerate(order)])
    )
    best = ranked.group_by("course_key").aggregate(best_rank=ranked.scale_rank.min())
    primary = best.mutate(
        primary_instrument=ibis.cases(
            *[(best.best_rank == i, name) for i, name in enumerate(order)]
        ),
        on_primary_scale=ibis.literal(True),
    ).select("course_key", "primary_instrument", "on_primary_scale")
    joined = table.left_join(
        primary,
        [
            table.course_key == primary.course_key,
            table.instrument == primary.primary_instrument,
        ],
    )
    return joined.select(
        *[joined[c] for c in table.columns],
        on_primary_scale=joined.on_primary_scale.fill_null(False),
    )
