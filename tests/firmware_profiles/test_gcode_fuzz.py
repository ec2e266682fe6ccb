"""Random programs: the interpreter never crashes, and its fast path agrees with the
careful one on every line it takes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_profiles import Profile, load_profile
from firmware_profiles.gcode import UnreadableProgram, check, decode_program
from firmware_profiles.gcode.api import interpret, stats_of
from tests.firmware_profiles.hostile.corpus import profile_for

GENERIC = load_profile("generic-220")
NUMBER = st.one_of(
    st.integers(-300, 300).map(str),
    st.floats(-300, 300, allow_nan=False).map(lambda v: f"{v:.3f}"),
    st.sampled_from(["", ".5", "-.2", "1e3", "2E-2", "nan", "inf", "1_0", "--1", "1.2.3"]),
)
WORD = st.builds(lambda letter, value: letter + value, st.sampled_from("XYZEFIJRSPT"), NUMBER)
LINE = st.one_of(
    st.builds(
        lambda head, words, comment: " ".join([head, *words]) + comment,
        st.sampled_from(
            [
                "G0",
                "G1",
                "G1",
                "G1",
                "G2",
                "G3",
                "G92",
                "G91",
                "G90",
                "M82",
                "M83",
                "G28",
                "M104",
                "M109",
                "M140",
                "M221",
                "M220",
                "G20",
                "G21",
                "G4",
                "M204",
                "M486",
                "T1",
                "g1",
                "G01",
            ]
        ),
        st.lists(WORD, max_size=5),
        st.sampled_from(["", "", " ; note", " (x)", "*12"]),
    ),
    st.sampled_from(
        [
            ";LAYER_CHANGE",
            ";LAYER:1",
            "",
            "M107",
            "M106 S255",
            "G92 E0",
            "SET_FAN_SPEED FAN=x SPEED=1",
            "@@",
            "N5 G1 X1*5",
        ]
    ),
)
PROGRAM = st.lists(LINE, min_size=1, max_size=40).map(
    lambda lines: "G90\nM82\nG28\nM104 S210\nM109 S210\n" + "\n".join(lines) + "\n"
)


def _summary(text: str, profile: Profile, fast: bool) -> tuple[object, ...]:
    run = interpret(text, profile, "PLA", planner="python", fast_path=fast)
    stats = stats_of(run, profile, "PLA", None).to_dict()
    return stats, [(v.line, v.code, v.reason) for v in run.log.violations()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROGRAM, st.sampled_from(["generic-220", "generic-220-rrf", "generic-220-klipper"]))
def test_fast_path_agrees_with_the_careful_path(program: str, profile_id: str) -> None:
    profile = profile_for(profile_id)
    assert _summary(program, profile, True) == _summary(program, profile, False)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_program_or_refused(data: bytes) -> None:
    try:
        text = decode_program(data)
    except UnreadableProgram:
        return
    for violation in check(text, GENERIC, "PLA"):
        assert violation.reason.startswith(f"line {violation.line}: ")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_checked_without_crashing(text: str) -> None:
    try:
        violations = check(text, GENERIC, "PLA")
    except UnreadableProgram:
        return
    for violation in violations:
        assert violation.line >= 1
