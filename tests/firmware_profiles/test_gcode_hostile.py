"""Every hostile program is rejected, for the right reason, at the right line."""

from __future__ import annotations

import pytest

from firmware_profiles.gcode import Severity, check
from tests.firmware_profiles.hostile.corpus import Case, cases, profile_for

CASES = cases()


def test_the_corpus_has_at_least_forty_programs() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_program_is_rejected_for_the_right_reason(case: Case) -> None:
    violations = check(case.text, profile_for(case.profile_id), case.material)
    errors = {(v.code, v.line) for v in violations if v.severity is Severity.ERROR}
    assert case.expected <= errors, f"{case.description}: got {sorted(errors)}"
    unexpected = {code for code, _ in errors} - {code for code, _ in case.expected}
    assert not unexpected, f"{case.description}: also rejected for {sorted(unexpected)}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_reason_names_its_line_and_command(case: Case) -> None:
    violations = check(case.text, profile_for(case.profile_id), case.material)
    for violation in violations:
        assert violation.reason.startswith(f"line {violation.line}: ")
        assert violation.command
        assert len(violation.reason) > 30
