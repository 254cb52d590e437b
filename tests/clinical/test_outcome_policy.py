"""A clinic's outcome choices: only the cited options, per instrument, applied by assess_course."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.outcome_policy import (
    BASELINE_SETTING,
    chosen,
    outcome_policy,
    outcome_setting,
    outcome_settings,
    starting_choices,
)
from ketaclinic.clinical.outcomes import ScorePoint, assess_course, outcome_rules
from ketaclinic.clinical.policy import policy_file
from ketaclinic.errors import InvalidInput


def test_settings_are_the_definitions_where_sources_differ() -> None:
    ids = [setting.id for setting in outcome_settings()]
    assert ids[0] == BASELINE_SETTING
    for rules in (outcome_rules(i) for i in ("phq9", "madrs", "pcl5", "qids-sr16")):
        listed = f"remission.{rules.id}" in ids
        assert listed == (len(rules.remission.options) > 1)
    madrs = outcome_setting("remission.madrs")
    assert madrs.default == outcome_rules("madrs").remission.default
    assert [c.id for c in madrs.choices] == [o.id for o in outcome_rules("madrs").remission.options]
    assert all(choice.source is not None for choice in madrs.choices)


def test_the_policy_file_starts_from_the_outcomes_file_defaults() -> None:
    assert policy_file().outcome_options.remission == {}
    assert starting_choices() == {}
    policy = outcome_policy()
    for setting in outcome_settings():
        assert chosen(policy, setting) == setting.default


def test_choosing_madrs_le12_changes_remission_and_nothing_else() -> None:
    points = [ScorePoint(0, 30), ScorePoint(28, 12)]
    default = assess_course("madrs", points, policy=outcome_policy())
    le12 = outcome_policy({"remission.madrs": "le12"})
    assert default.remitted is False  # 12 is above the default MADRS <= 10
    assert assess_course("madrs", points, policy=le12).remitted is True
    assert chosen(le12, outcome_setting("remission.madrs")) == "le12"
    assert chosen(le12, outcome_setting("remission.pcl5")) == "lt33"
    phq9 = [ScorePoint(0, 20), ScorePoint(28, 4)]
    assert assess_course("phq9", phq9, policy=le12) == assess_course("phq9", phq9)


def test_baseline_choice_is_applied() -> None:
    points = [ScorePoint(-14, 24), ScorePoint(-1, 16), ScorePoint(14, 11)]
    first = outcome_policy({BASELINE_SETTING: "first_on_or_before_start"})
    assert assess_course("phq9", points).baseline == ScorePoint(-1, 16)
    assert assess_course("phq9", points, policy=first).baseline == ScorePoint(-14, 24)


@pytest.mark.parametrize(
    ("choices", "field", "words"),
    [
        ({"remission.madrs": "le15"}, "remission.madrs", "le10, le12"),
        ({"remission.phq9": "lt5"}, "setting_id", "remission.madrs"),
        ({BASELINE_SETTING: "median"}, BASELINE_SETTING, "first_recorded"),
        ({"relapse.madrs": "le12"}, "relapse.madrs", "loss-of-response"),
    ],
)
def test_uncited_choices_are_refused_by_name(
    choices: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        outcome_policy(choices)
    assert raised.value.field == field
    assert words in raised.value.message


def test_a_wrong_starting_choice_in_the_policy_file_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ketaclinic.clinical import outcome_policy as module
    from ketaclinic.errors import ConfigurationError

    section = module.OutcomeOptionsSection(remission={"madrs": "le15"})
    monkeypatch.setattr(
        module, "load_knowledge", lambda *args: module._PolicyFileView(outcome_options=section)
    )
    with pytest.raises(ConfigurationError, match="le15"):
        module.starting_choices()
