"""Reading one line the careful way: every form firmware accepts, nothing it would not."""

from __future__ import annotations

import pytest

from firmware_profiles.gcode.lexer import Command, LexError, checksum, parse_line


def command(raw: str) -> Command:
    parsed = parse_line(raw)
    assert isinstance(parsed, Command), parsed
    return parsed


def test_words_without_spaces_in_lower_case_are_read() -> None:
    parsed = command("g1x10.5y-2z.3f3000")
    assert parsed.word == "G1"
    assert parsed.params == {"X": 10.5, "Y": -2.0, "Z": 0.3, "F": 3000.0}


def test_leading_zeros_in_the_command_number_are_dropped() -> None:
    assert command("G01 X1").word == "G1"
    assert command("M0104 S200").word == "M104"


def test_comments_of_both_kinds_are_removed() -> None:
    parsed = command("G1 X1 (move (nested) right) Y2 ; and up")
    assert parsed.params == {"X": 1.0, "Y": 2.0}


@pytest.mark.parametrize("raw", ["", "   ", "; only a comment", "(only a comment)"])
def test_blank_and_comment_lines_are_nothing(raw: str) -> None:
    assert parse_line(raw) is None


def test_line_number_and_correct_checksum_are_stripped() -> None:
    body = "N42 G1 X5 Y6"
    parsed = command(f"{body}*{checksum(body)}")
    assert parsed.word == "G1" and parsed.params == {"X": 5.0, "Y": 6.0}


def test_wrong_checksum_is_reported_with_the_right_value() -> None:
    parsed = parse_line("N42 G1 X5 Y6*1")
    assert isinstance(parsed, LexError) and parsed.code == "checksum-mismatch"
    assert f"should be {checksum('N42 G1 X5 Y6')}" in parsed.reason


def test_an_exponent_is_not_part_of_a_number() -> None:
    # Marlin stops reading a number at E, so X1E5 is X1 and E5.
    assert command("G1 X1E5").params == {"X": 1.0, "E": 5.0}


def test_bare_letters_have_no_value() -> None:
    assert command("G28 X Y").params == {"X": None, "Y": None}


def test_quoted_strings_belong_to_their_letter() -> None:
    parsed = command('M486 S3 A"left ""bracket"""')
    assert parsed.number("S") == 3.0
    assert parsed.strings["A"] == 'left "bracket"'


def test_free_text_commands_keep_their_text() -> None:
    parsed = command("M117 Printing 50% X10")
    assert parsed.params == {} and parsed.strings[""] == "Printing 50% X10"


def test_klipper_extended_commands_take_key_value_pairs() -> None:
    parsed = command('set_fan_speed fan=part_fan SPEED=0.5 NOTE="a b"')
    assert parsed.extended and parsed.word == "SET_FAN_SPEED"
    assert parsed.strings == {"FAN": "part_fan", "SPEED": "0.5", "NOTE": "a b"}


def test_a_macro_without_parameters_is_an_extended_command() -> None:
    parsed = command("PRINT_START")
    assert parsed.extended and parsed.word == "PRINT_START"


@pytest.mark.parametrize(
    "raw",
    [
        "G1 X1.2.3",
        "G1 X--1",
        "G1 Xnan",
        "G1 Y-inf",
        "@@@",
        "G1 X" + "9" * 400,
        "G1 X10 ß",
        "SET_FAN_SPEED FAN",
    ],
)
def test_garbled_lines_are_unreadable(raw: str) -> None:
    parsed = parse_line(raw)
    assert isinstance(parsed, LexError) and parsed.code == "unreadable"
    assert parsed.reason
