"""Protocols as data: label and trial figures, limits, phases, sources and unverified flags."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.protocols import DoseBasis, Product, all_protocols, get_protocol
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput


def test_iv_standard_dose_and_series() -> None:
    thrice = get_protocol("iv-racemic-thrice-weekly")
    twice = get_protocol("iv-racemic-twice-weekly")
    for protocol in (thrice, twice):
        assert protocol.dose.basis is DoseBasis.MG_PER_KG
        assert protocol.dose.default == 0.5
        assert protocol.infusion is not None
        assert protocol.infusion.default_duration_min == 40
        assert protocol.dose.titration_steps[0] == 0.5
        assert protocol.off_label
    assert (thrice.phases[0].sessions_per_week, thrice.phases[0].session_count) == (3, 6)
    assert (twice.phases[0].sessions_per_week, twice.phases[0].session_count) == (2, 6)
    assert thrice.maintenance_option("weekly-x4") is not None


def test_esketamine_us_label_regimen() -> None:
    trd = get_protocol("esketamine-trd")
    assert trd.product is Product.ESKETAMINE
    assert trd.route is Route.INTRANASAL
    assert trd.dose.first_session == 56
    assert trd.dose.allowed == (56, 84)
    assert trd.limits.max_mg_per_session == 84
    assert trd.devices is not None
    assert (trd.devices.device_mg, trd.devices.spacing_minutes) == (28, 5)
    induction, weeks_5_8 = trd.phases
    assert (induction.sessions_per_week, induction.session_count) == (2, 8)
    assert (weeks_5_8.sessions_per_week, weeks_5_8.session_count) == (1, 4)
    assert {o.sessions_per_week for o in trd.maintenance_options} == {1, 0.5}
    (eu,) = trd.regional_profiles
    assert (eu.min_age_years, eu.first_session_dose_mg) == (65, 28)
    mdsi = get_protocol("esketamine-mdsi")
    assert mdsi.dose.default == 84
    assert (mdsi.phases[0].sessions_per_week, mdsi.phases[0].session_count) == (2, 8)


def test_oral_and_sublingual_are_experimental_without_a_default_dose() -> None:
    for protocol_id in ("oral-racemic", "sublingual-racemic"):
        protocol = get_protocol(protocol_id)
        assert protocol.experimental
        assert protocol.dose.default is None
        assert (protocol.dose.minimum, protocol.dose.maximum) == (0.25, 7.0)


def test_unverified_figures_are_flagged() -> None:
    # Limits that are derived rather than stated in a source must say so.
    for protocol in all_protocols():
        if (
            protocol.limits.max_mg_per_session is None
            or protocol.product is Product.RACEMIC_KETAMINE
        ):
            assert not protocol.limits.source.verified
        assert protocol.verified == all(s.verified for s in protocol.all_sources())
    assert not get_protocol("sublingual-racemic").verified


def test_every_protocol_has_review_sources_and_adult_age() -> None:
    for protocol in all_protocols():
        assert protocol.sources
        assert protocol.review.action
        assert protocol.age_min_years == 18
        assert any(phase.review_action for phase in protocol.phases)


def test_unknown_protocol() -> None:
    with pytest.raises(InvalidInput, match="Known protocols"):
        get_protocol("ketamine-max")
