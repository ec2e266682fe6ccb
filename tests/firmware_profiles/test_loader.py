"""The loader: inheritance, user directories, and errors that name file, key and reason."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from firmware_profiles import (
    ProfileError,
    UnknownProfileError,
    clear_profile_cache,
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


def test_value_from_a_parent_is_blamed_on_the_parent_file(tmp_path: Path) -> None:
    parent = write_minimal(
        tmp_path,
        "fast-parent",
        """
[limits]
max_acceleration_travel_mm_s2 = -1
""",
    )
    child = write(
        tmp_path, "fast-child", 'id = "fast-child"\nname = "C"\ninherits = "fast-parent"\n'
    )
    with pytest.raises(ProfileError) as caught:
        load_profile_file(child)
    assert caught.value.file == parent
    assert caught.value.key == "limits.max_acceleration_travel_mm_s2"


def test_missing_required_value_says_where_it_could_be_set(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "no-height")
    path.write_text(path.read_text().replace("max_z_mm = 150\n", ""))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "machine.max_z_mm"
    assert "required" in caught.value.reason


def test_values_of_the_wrong_type_are_not_coerced(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "stringly", '\n[capabilities]\narcs = "yes"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "capabilities.arcs"
    assert "'yes'" in caught.value.reason


def test_broken_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken", 'id = "broken"\nname = "B"\n[machine\n')
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.file == path
    assert "not valid TOML" in caught.value.reason and "line 3" in caught.value.reason


def test_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "shop-printer.toml"
    path.write_text(MINIMAL.format(id="other-name"))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "id"
    assert "'shop-printer'" in caught.value.reason and "'other-name'" in caught.value.reason


def test_user_profile_cannot_reuse_a_shipped_id(tmp_path: Path) -> None:
    write_minimal(tmp_path, "generic-220")
    with pytest.raises(ProfileError) as caught:
        list_profiles([tmp_path])
    assert caught.value.key == "id"
    assert "also defined by" in caught.value.reason and "inherit" in caught.value.reason


def test_enclosure_material_on_an_open_printer_is_refused(tmp_path: Path) -> None:
    path = write_minimal(
        tmp_path,
        "open-abs",
        """
[materials.ABS]
hotend_min_c = 230
hotend_max_c = 250
hotend_c = 240
bed_max_c = 60
bed_c = 60
needs_enclosure = true
""",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "materials.ABS.needs_enclosure"
    assert "enclosure" in caught.value.reason


def test_material_hotter_than_the_hotend_allows_is_refused(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "hot-pla", "")
    path.write_text(path.read_text().replace("hotend_max_c = 220", "hotend_max_c = 300"))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "materials.PLA.hotend_max_c"
    assert "limits.max_hotend_c 260" in caught.value.reason


def test_template_that_sends_a_blocked_command_is_refused(tmp_path: Path) -> None:
    path = write_minimal(
        tmp_path,
        "saves-eeprom",
        """
[gcode]
end = "M104 S0\\nM500 ; keep settings"
""",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "gcode.end"
    assert "line 2 sends M500" in caught.value.reason


def test_round_bed_must_be_centred(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "round")
    path.write_text(path.read_text().replace("[machine]\n", '[machine]\nbed_shape = "circle"\n'))
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "machine.origin"
    assert "machine.bed_y_mm" in caught.value.reason  # the second problem is listed too


def test_name_and_url_are_not_inherited(tmp_path: Path) -> None:
    write_minimal(tmp_path, "named-parent")
    child = write(tmp_path, "unnamed-child", 'id = "unnamed-child"\ninherits = "named-parent"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile_file(child)
    assert caught.value.key == "name"
    assert load_profile("generic-220").url == ""  # marlin2-base's url stays with marlin2-base


def test_abstract_base_cannot_be_loaded_on_its_own() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("marlin2-base")
    assert caught.value.key == "abstract"


def test_typo_in_an_abstract_base_is_found_when_its_directory_is_checked(tmp_path: Path) -> None:
    write(
        tmp_path,
        "shop-base",
        'id = "shop-base"\nname = "S"\nabstract = true\n'
        'inherits = "marlin2-base"\n[serial]\nbaud_rate = 250000\n',
    )
    with pytest.raises(ProfileError) as caught:
        load_profiles_dir(tmp_path)
    assert caught.value.key == "serial.baud_rate"
    assert "baudrate" in caught.value.reason


def test_loaded_profiles_are_cached_until_the_cache_is_cleared() -> None:
    first = load_profile("generic-220")
    assert load_profile("generic-220") is first
    clear_profile_cache()
    again = load_profile("generic-220")
    assert again is not first and again == first


def test_unknown_id_is_reported_even_when_another_user_file_is_broken(tmp_path: Path) -> None:
    write(tmp_path, "half-written", 'id = "half-written"\nname = "H"\n[machine\n')
    with pytest.raises(UnknownProfileError) as caught:
        load_profile("no-such-printer", [tmp_path])
    assert "generic-220" in caught.value.known and "half-written" not in caught.value.known


def test_errors_survive_the_trip_back_from_a_worker_process(tmp_path: Path) -> None:
    path = write_minimal(tmp_path, "pickled", "\n[serial]\nbaudrate = 12\n")
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.file, copy.key, copy.reason) == (path, "serial.baudrate", caught.value.reason)
    unknown = pickle.loads(pickle.dumps(UnknownProfileError("x", ["generic-220"])))
    assert isinstance(unknown, UnknownProfileError) and unknown.known == ["generic-220"]


def test_infinite_numbers_are_refused(tmp_path: Path) -> None:
    path = write_minimal(
        tmp_path,
        "boundless",
        """
[limits]
max_feedrate_mm_s = { x = inf, y = 150, z = 8, e = 40 }
""",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    assert caught.value.key == "limits.max_feedrate_mm_s.x"
    assert "finite" in caught.value.reason
