"""The loader: inheritance, user directories, and errors that name file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_profiles import (
    ProfileError,
    UnknownProfileError,
    list_profiles,
    load_profile,
    load_profile_file,
    load_profiles_dir,
)

MINIMAL = """
id = "{id}"
name = "Test printer {id}"
inherits = "marlin2-base"

[machine]
bed_x_mm = 200
bed_y_mm = 180
max_z_mm = 150

[materials.PLA]
hotend_min_c = 190
hotend_max_c = 220
hotend_c = 205
bed_max_c = 60
bed_c = 60
"""


def write(directory: Path, profile_id: str, text: str) -> Path:
    path = directory / f"{profile_id}.toml"
    path.write_text(text)
    return path


def write_minimal(directory: Path, profile_id: str, extra: str = "") -> Path:
    return write(directory, profile_id, MINIMAL.format(id=profile_id) + extra)


def test_child_overrides_parent_key_by_key_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write_minimal(
        tmp_path,
        "shop-printer",
        """
[limits]
max_feedrate_mm_s = { x = 150, y = 150, z = 8, e = 40 }

[serial]
baudrate = 250000
""",
    )
    profile = load_profile_file(path)
    base_limits = load_profile("generic-220").limits  # also inherits marlin2-base's min_extrude
    assert profile.serial.baudrate == 250000
    assert profile.serial.resend_style == "marlin"  # from marlin2-base
    assert profile.limits.max_feedrate_mm_s.x == 150
    assert profile.limits.max_hotend_c == 260  # marlin2-base
    assert profile.limits.min_extrude_c == base_limits.min_extrude_c
    assert "M500" in profile.safety.blocked
    assert profile.abstract is False
    assert profile.inherits == "marlin2-base"


def test_materials_merge_per_material_and_lists_replace(tmp_path: Path) -> None:
    write_minimal(
        tmp_path,
        "parent-printer",
        """
[materials.PETG]
hotend_min_c = 220
hotend_max_c = 250
hotend_c = 240
bed_max_c = 60
bed_c = 60
""",
    )
    child = write(
        tmp_path,
        "child-printer",
        """
id = "child-printer"
name = "Child"
inherits = "parent-printer"

[materials.PLA]
hotend_c = 215

[materials.TPU]
hotend_min_c = 210
hotend_max_c = 240
hotend_c = 225

[safety]
blocked = ["M500"]
""",
    )
    profile = load_profile_file(child)
    assert sorted(profile.materials) == ["PETG", "PLA", "TPU"]
    assert profile.material("pla").hotend_c == 215
    assert profile.material("PLA").hotend_max_c == 220  # kept from the parent's PLA
    assert profile.safety.blocked == ["M500"]
    assert profile.safety.operator == load_profile("generic-220").safety.operator


def test_inheritance_cycle_is_reported_with_the_file_and_the_loop(tmp_path: Path) -> None:
    write(tmp_path, "a", 'id = "a"\nname = "A"\ninherits = "b"\n')
    write(tmp_path, "b", 'id = "b"\nname = "B"\ninherits = "a"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile_file(tmp_path / "a.toml")
    assert caught.value.key == "inherits"
    assert caught.value.file is not None and caught.value.file.name in ("a.toml", "b.toml")
    assert "cycle" in caught.value.reason and "a -> b -> a" in caught.value.reason


def test_unknown_parent_names_the_file_and_the_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "orphan", 'id = "orphan"\nname = "O"\ninherits = "marlin3-base"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.file == path
    assert caught.value.key == "inherits"
    assert "'marlin3-base'" in caught.value.reason and "marlin2-base" in caught.value.reason


def test_misspelt_key_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "typo", "")
    path.write_text(path.read_text().replace("bed_x_mm = 200", "bedx_mm = 200"))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.file == path
    assert caught.value.key == "machine.bedx_mm"
    assert "unknown key" in caught.value.reason and "bed_x_mm" in caught.value.reason


def test_out_of_range_value_names_its_dotted_key(tmp_path: Path) -> None:
    path = write_minimal(
        tmp_path,
        "slow-z",
        """
[limits]
max_feedrate_mm_s = { x = 150, y = 150, z = -8, e = 40 }
""",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.file == path
    assert caught.value.key == "limits.max_feedrate_mm_s.z"
    assert "greater than 0" in caught.value.reason and "-8" in caught.value.reason


def test_unknown_template_placeholder_is_a_load_error(tmp_path: Path) -> None:
    path = write_minimal(
        tmp_path,
        "bad-start",
        """
[gcode]
start = "M190 S{bed_temperature}\\nG28"
""",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.file == path
    assert caught.value.key == "gcode.start"
    assert "{bed_temperature}" in caught.value.reason and "{bed_c}" in caught.value.reason


def test_unknown_id_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProfileError) as caught:
        load_profile("no-such-printer")
    assert "generic-220" in caught.value.known
    assert "marlin2-base" not in caught.value.known
    assert "no-such-printer" in str(caught.value)


def test_user_directory_adds_profiles_next_to_the_shipped_ones(tmp_path: Path) -> None:
    write_minimal(tmp_path, "makerspace-one")
    ids = [profile.id for profile in list_profiles([tmp_path])]
    assert "makerspace-one" in ids and "generic-220" in ids
    assert load_profile("makerspace-one", [tmp_path]).machine.bed_y_mm == 180
    assert [p.id for p in load_profiles_dir(tmp_path)] == ["makerspace-one"]
