"""Settings: qualities, material families, overrides as typed from the command line."""

from __future__ import annotations

import pickle

import pytest

from slicing import SliceSettings


@pytest.mark.parametrize(("quality", "layer"), [("draft", 0.28), ("standard", 0.2), ("fine", 0.12)])
def test_qualities_set_the_layer_height(quality: str, layer: float) -> None:
    assert SliceSettings.for_quality(quality).layer_height_mm == layer


def test_unknown_quality_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="draft, standard, fine"):
        SliceSettings.for_quality("ultra")


def test_material_family_adjusts_the_defaults() -> None:
    petg = SliceSettings.for_quality("standard", material="PETG")
    assert petg.z_hop_mm > 0 and petg.fan_off_layers == 3
    tpu = SliceSettings.for_quality("standard", material="TPU")
    assert tpu.outer_wall_speed < 20 and tpu.retract_length_mm == 0
    assert SliceSettings.for_quality("standard", material="Nylon").brim_width_mm > 0


def test_overrides_from_strings() -> None:
    settings = SliceSettings.for_quality("standard").with_overrides(
        {
            "infill_density": "15%",
            "supports": "true",
            "perimeters": "3",
            "infill_pattern": "gyroid",
            "hotend_c": "default",
        }
    )
    assert settings.infill_density == pytest.approx(0.15)
    assert settings.supports is True
    assert settings.perimeters == 3
    assert settings.infill_pattern == "gyroid"
    assert settings.hotend_c is None


def test_density_given_as_percent_number() -> None:
    assert SliceSettings.for_quality("standard", infill_density=35).infill_density == 0.35


def test_unknown_setting_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown setting infil_density.*infill_density"):
        SliceSettings.for_quality("standard").with_overrides({"infil_density": "10%"})


def test_bad_value_says_which_setting() -> None:
    with pytest.raises(ValueError, match="infill_pattern"):
        SliceSettings.for_quality("standard").with_overrides({"infill_pattern": "stars"})
    with pytest.raises(ValueError, match="perimeters"):
        SliceSettings.for_quality("standard").with_overrides({"perimeters": "0"})


def test_settings_pickle() -> None:
    settings = SliceSettings.for_quality("fine", material="PETG", supports=True)
    assert pickle.loads(pickle.dumps(settings)) == settings
