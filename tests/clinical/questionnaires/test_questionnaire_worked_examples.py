"""Every instrument against worked examples computed by hand from its published scoring rules."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.questionnaires import Alert, score
from ketaclinic.errors import InvalidInput


def _alert_ids(alerts: list[Alert]) -> set[str]:
    return {alert.id for alert in alerts}


# --- PHQ-9 (Kroenke 2001): sum of 9 items 0-3; bands 0-4, 5-9, 10-14, 15-19, 20-27 ---


def test_phq9_all_twos_is_18_moderately_severe_with_item9_alert() -> None:
    result = score("phq9", [2] * 9)
    assert result.total == 18  # 9 x 2
    assert result.severity == "moderately-severe"
    assert _alert_ids(result.alerts) == {"phq9-item9-suicide-risk"}
    assert result.alerts[0].severity == "critical"
    assert result.alerts[0].item_id == "q9"


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([0] * 9, 0, "minimal"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal"),
        ([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),
        ([1, 1, 1, 1, 1, 1, 1, 1, 1], 9, "mild"),
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 2, 0, 0, 0, 0], 14, "moderate"),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately-severe"),
        ([3, 3, 3, 3, 3, 3, 1, 0, 0], 19, "moderately-severe"),
        ([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe"),
        ([3] * 9, 27, "severe"),
    ],
)
def test_phq9_band_boundaries(answers: list[int], total: int, band: str) -> None:
    result = score("phq9", answers)
    assert (result.total, result.severity) == (total, band)


def test_phq9_item9_zero_raises_no_alert() -> None:
    assert score("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0]).alerts == []


def test_phq2_cut_point_three() -> None:
    assert score("phq2", [1, 1]).severity == "negative"
    assert score("phq2", [1, 2]).severity == "positive"


# --- GAD-7 (Spitzer 2006): 5/10/15 ---


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([0, 0, 0, 0, 1, 1, 2], 4, "minimal"),
        ([1] * 7, 7, "mild"),
        ([2, 2, 2, 2, 2, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 3, 0, 0], 15, "severe"),
        ([3] * 7, 21, "severe"),
    ],
)
def test_gad7_bands(answers: list[int], total: int, band: str) -> None:
    result = score("gad7", answers)
    assert (result.total, result.severity) == (total, band)


# --- QIDS-SR16 (Rush 2003): nine domains, sleep/appetite-weight/psychomotor count as their max ---


def test_qids_domain_maxima_worked_example() -> None:
    answers = [1, 3, 0, 2, 2, 0, 2, 1, 0, 1, 1, 0, 2, 1, 1, 3]
    # sleep max(1,3,0,2)=3; sad 2; appetite/weight max(0,2,1,0)=2; items 10-14 = 1+1+0+2+1 = 5;
    # psychomotor max(1,3)=3 -> 3+2+2+5+3 = 15 (a plain sum of the items would be 20).
    result = score("qids-sr16", answers)
    assert result.total == 15
    assert result.severity == "moderate"
    assert result.subscales == {"sleep": 3, "appetite_weight": 2, "psychomotor": 3}


def test_qids_all_threes_is_27_not_48() -> None:
    result = score("qids-sr16", [3] * 16)
    assert result.total == 27  # nine domains x 3
    assert result.severity == "very-severe"
    assert _alert_ids(result.alerts) == {"qids-item12-suicide"}


def test_qids_band_edges() -> None:
    five = [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0]  # 5
    six = [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0]  # 6
    assert score("qids-sr16", five).severity == "none"
    assert score("qids-sr16", six).severity == "mild"


# --- MADRS and HAM-D17 ---


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([0] * 10, 0, "normal"),
        ([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], 6, "normal"),
        ([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], 7, "mild"),
        ([2] * 10, 20, "moderate"),
        ([6, 6, 6, 6, 6, 4, 0, 0, 0, 0], 34, "moderate"),
        ([6, 6, 6, 6, 6, 5, 0, 0, 0, 0], 35, "severe"),
    ],
)
def test_madrs_bands(answers: list[int], total: int, band: str) -> None:
    result = score("madrs", answers)
    assert (result.total, result.severity) == (total, band)


def test_madrs_item10_alert_from_two() -> None:
    assert score("madrs", [0] * 9 + [1]).alerts == []
    assert _alert_ids(score("madrs", [0] * 9 + [2]).alerts) == {"madrs-item10-suicidal-thoughts"}


def test_hamd17_item_ranges_and_total() -> None:
    all_max = [4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, 2]
    assert score("hamd17", all_max).total == 52  # nine 0-4 items + eight 0-2 items
    assert score("hamd17", [1] * 17).total == 17
    assert score("hamd17", [1] * 17).severity == "moderate"  # 14-18
    assert score("hamd17", [0] * 17).severity == "none"
    with pytest.raises(InvalidInput) as raised:
        score("hamd17", [0, 0, 0, 3] + [0] * 13)  # item 4 (insomnia early) is 0-2
    assert raised.value.field == "q4"
    assert "0 to 2" in raised.value.message


# --- CADSS: label dissociation = total > 4 and a rise over the pre-dose total ---


def test_cadss_dissociation_needs_total_above_four_and_a_rise() -> None:
    five = [1] * 5 + [0] * 18
    four = [1] * 4 + [0] * 19
    assert score("cadss", five, baseline_total=0).extras["dissociation"] is True
    assert score("cadss", five, baseline_total=5).extras["dissociation"] is False
    assert score("cadss", four, baseline_total=0).extras["dissociation"] is False
    assert score("cadss", five).extras["dissociation"] is None  # undecidable without pre-dose
    assert score("cadss", [4] * 23).total == 92


def test_bprs_positive_range_one_to_seven() -> None:
    assert score("bprs-positive", [1, 1, 1, 1]).total == 4
    assert score("bprs-positive", [7, 7, 7, 7]).total == 28
    with pytest.raises(InvalidInput) as raised:
        score("bprs-positive", [0, 1, 1, 1])
    assert raised.value.field == "q1"


# --- C-SSRS screener triage ---


@pytest.mark.parametrize(
    ("answers", "risk", "alert_severity"),
    [
        ([0, 0, 0, 0, 0, 0, 0], "none", None),
        ([1, 0, 0, 0, 0, 0, 0], "low", "info"),
        ([1, 1, 0, 0, 0, 0, 0], "low", "info"),
        ([1, 1, 1, 0, 0, 0, 0], "moderate", "warning"),
        ([0, 0, 0, 0, 0, 1, 0], "moderate", "warning"),  # behaviour, but not in past 3 months
        ([1, 1, 1, 1, 0, 0, 0], "high", "critical"),
        ([1, 1, 1, 0, 1, 0, 0], "high", "critical"),
        ([0, 0, 0, 0, 0, 1, 1], "high", "critical"),  # behaviour within 3 months
        ([1, 1, 1, 1, 1, 1, 1], "high", "critical"),
    ],
)
def test_cssrs_triage_levels(answers: list[int], risk: str, alert_severity: str | None) -> None:
    result = score("cssrs-screener", answers)
    assert result.extras["risk"] == risk
    assert result.to_json()["risk"] == risk
    assert [a.severity for a in result.alerts] == ([alert_severity] if alert_severity else [])


@pytest.mark.parametrize(
    ("answers", "item"),
    [
        ([0, 0, 0, 0, 0, 0, 1], "q7"),  # "past 3 months" without lifetime behaviour
        ([1, 0, 1, 0, 0, 0, 0], "q3"),  # method asked only after a yes to question 2
        ([1, 0, 0, 0, 1, 0, 0], "q5"),
    ],
)
def test_cssrs_skip_logic_refuses_answers_the_form_would_not_ask(
    answers: list[int], item: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        score("cssrs-screener", answers)
    assert raised.value.field == item
    assert "enter 0" in raised.value.message


def test_cssrs_answers_are_yes_no_only() -> None:
    with pytest.raises(InvalidInput) as raised:
        score("cssrs-screener", [2, 0, 0, 0, 0, 0, 0])
    assert "one of 0, 1" in raised.value.message


# --- PCL-5 DSM-5 rule: >=1 B, >=1 C, >=2 D, >=2 E items rated 2+ ---

MINIMAL_DSM = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]


def test_pcl5_minimal_cluster_pattern_meets_the_rule() -> None:
    result = score("pcl5", MINIMAL_DSM)
    assert result.total == 12
    assert result.extras["provisional_diagnosis"] is True
    assert result.extras["provisional_diagnosis_clusters"] == {
        "B": True,
        "C": True,
        "D": True,
        "E": True,
    }
    assert result.extras["probable_ptsd"] is False  # 12 < 33
    assert result.subscales == {"cluster_b": 2, "cluster_c": 2, "cluster_d": 4, "cluster_e": 4}


def test_pcl5_one_d_item_short_fails_only_cluster_d() -> None:
    answers = list(MINIMAL_DSM)
    answers[8] = 1  # item 9 (D) rated 1 no longer counts
    result = score("pcl5", answers)
    assert result.extras["provisional_diagnosis"] is False
    assert result.extras["provisional_diagnosis_clusters"]["D"] is False


def test_pcl5_items_rated_one_do_not_count() -> None:
    answers = [1] * 5 + MINIMAL_DSM[5:]
    assert score("pcl5", answers).extras["provisional_diagnosis_clusters"]["B"] is False


def test_pcl5_configurable_total_cutoff() -> None:
    assert (
        score("pcl5", MINIMAL_DSM, cutoffs={"provisional_diagnosis": 31}).extras[
            "provisional_diagnosis"
        ]
        is False
    )  # 12 < 31
    all_twos = score("pcl5", [2] * 20, cutoffs={"provisional_diagnosis": 31})
    assert all_twos.total == 40
    assert all_twos.extras["provisional_diagnosis"] is True
    assert all_twos.extras["probable_ptsd"] is True
    at_32 = [2] * 16 + [0] * 4  # 32
    assert score("pcl5", at_32).extras["probable_ptsd"] is False  # default 33
    assert score("pcl5", at_32, cutoffs={"probable_ptsd": 32}).extras["probable_ptsd"] is True


def test_pcl5_uncited_cutoff_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        score("pcl5", MINIMAL_DSM, cutoffs={"probable_ptsd": 30})
    assert "31, 32, 33" in raised.value.message
    with pytest.raises(InvalidInput):
        score("pcl5", MINIMAL_DSM, cutoffs={"no_such_rule": 31})


# --- MOAA/S, pain NRS, O'Leary-Sant ---


def test_moaas_zero_is_loss_of_consciousness() -> None:
    assert score("moaas", [5]).alerts == []
    result = score("moaas", [0])
    assert [(a.id, a.severity) for a in result.alerts] == [
        ("moaas-loss-of-consciousness", "critical")
    ]
    with pytest.raises(InvalidInput):
        score("moaas", [6])


def test_pain_nrs_zero_to_ten_whole_numbers() -> None:
    assert score("pain-nrs", [10]).total == 10
    for bad in (11, -1, 7.5):
        with pytest.raises(InvalidInput):
            score("pain-nrs", [bad])


def test_oleary_sant_indices_and_pain_item_scale() -> None:
    result = score("oleary-sant", [1, 2, 3, 2, 1, 0, 4, 2])
    assert result.subscales == {"icsi": 8, "icpi": 7}
    assert result.total == 15
    assert _alert_ids(result.alerts) == {"urinary-symptoms-reported", "bladder-pain-reported"}
    assert score("oleary-sant", [0] * 8).alerts == []
    assert score("oleary-sant", [5, 5, 5, 5, 4, 4, 4, 4]).subscales == {"icsi": 20, "icpi": 16}
    with pytest.raises(InvalidInput) as raised:
        score("oleary-sant", [0, 0, 0, 1, 0, 0, 0, 0])  # the pain item has no 1 on the form
    assert raised.value.field == "q4"
    assert "one of 0, 2, 3, 4, 5" in raised.value.message


def test_hamd17_cited_alternative_bands() -> None:
    nineteen = [4, 4, 4, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    twenty_three = [4, 4, 4, 2, 2, 2, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    alternative = "ids-qids-equivalence"
    assert score("hamd17", nineteen).severity == "severe"  # CamCOPS 19-22
    assert score("hamd17", nineteen, band_set=alternative).severity == "moderate"  # 14-19
    assert score("hamd17", twenty_three).severity == "very-severe"  # CamCOPS >= 23
    assert score("hamd17", twenty_three, band_set=alternative).severity == "severe"  # 20-25
    with pytest.raises(InvalidInput) as raised:
        score("hamd17", nineteen, band_set="made-up")
    assert alternative in raised.value.message
