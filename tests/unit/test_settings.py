"""Editor settings by dotted name (`--set value.steps=10`)."""

from __future__ import annotations

import pytest

from editmind.editors.base import EditRequestError, get_editor
from editmind.editors.parametric.rome import RomeConfig
from editmind.editors.settings import apply_settings, field_names, parse_settings


def test_settings_parse_json_values_and_bare_words():
    assert parse_settings(["value.steps=10", "projection=soft", "layers=[3,4]", "cov_ridge=1e-3"]) == {
        "value.steps": 10, "projection": "soft", "layers": [3, 4], "cov_ridge": 1e-3}


def test_nested_settings_replace_copies_and_leave_the_original_alone():
    config = RomeConfig()
    tuned = apply_settings(config, {"value.steps": 7, "layer": 3, "cov_ridge": 1, "stats.n_tokens": 512})
    assert (tuned.value.steps, tuned.layer, tuned.cov_ridge, tuned.stats.n_tokens) == (7, 3, 1.0, 512)
    assert isinstance(tuned.cov_ridge, float)
    assert config.value.steps == 25 and config.layer is None and config.stats.n_tokens != 512
    assert "value.steps" in field_names(config) and "value" not in field_names(config)
    assert get_editor("rome", **{"value.lr": 0.1}).config.value.lr == 0.1


@pytest.mark.parametrize("settings,message", [
    ({"value.stepz": 1}, "unknown setting 'value.stepz' for RomeConfig; known: layer, cov_ridge"),
    ({"value.steps": "ten"}, "setting 'value.steps' expects a value of type int like 25, got \"ten\""),
    ({"value": 3}, "setting 'value' is a group; set its fields, e.g. value.steps=..."),
    ({"layer.x": 3}, "unknown setting 'layer.x': layer has no fields"),
    ({"value.norm_floor": 1}, "expects a value of type bool"),
])
def test_bad_settings_name_what_is_wrong(settings, message):
    with pytest.raises(EditRequestError) as error:
        apply_settings(RomeConfig(), settings)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("method,setting,choices", [
    ("alphaedit", {"projection": "sideways"}, "hard, soft, auto"),
    ("memit", {"key": "middle"}, "contexts, average"),
    ("rome", {"value.precision": "fp8"}, "auto, model, bfloat16"),
    ("ft-m", {"objective": "loss"}, "target_new, prompt_last"),
])
def test_a_setting_with_fixed_choices_is_checked_when_the_editor_is_made(method, setting, choices):
    with pytest.raises(EditRequestError, match=f"must be one of {choices}"):
        get_editor(method, **setting)


def test_a_config_built_in_python_is_checked_too():
    """A typo in a config object fails when the editor is made, not in the middle of an edit."""
    from editmind.editors.parametric.rome import RomeConfig
    from editmind.editors.parametric.values import ValueConfig

    with pytest.raises(EditRequestError, match="'key' must be one of contexts, average"):
        get_editor("rome", RomeConfig(key="avg"))
    with pytest.raises(EditRequestError, match="'value.precision' must be one of"):
        get_editor("rome", RomeConfig(value=ValueConfig(precision="half")))
