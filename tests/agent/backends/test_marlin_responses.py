"""Reading what a Marlin-family printer says."""

from __future__ import annotations

import pytest

from agent.backends.marlin.responses import (
    Action,
    Busy,
    Capability,
    Echo,
    ErrorMessage,
    Fatal,
    FirmwareInfo,
    Ok,
    Resend,
    Temperatures,
    parse_response,
)


def test_plain_ok_and_advanced_ok_with_its_line_number() -> None:
    assert parse_response("ok") == Ok()
    assert parse_response("ok N1234 P15 B3") == Ok(line_number=1234)


def test_ok_after_m105_carries_the_temperatures() -> None:
    response = parse_response("ok T:210.0 /210.0 B:60.0 /60.0 @:127 B@:0")
    assert isinstance(response, Ok) and response.temperatures is not None
    assert response.temperatures.hotend is not None
    assert response.temperatures.hotend.current_c == 210.0
    assert response.temperatures.bed is not None and response.temperatures.bed.target_c == 60.0


@pytest.mark.parametrize("line", ["Resend: 12", "Resend:12", "rs N12", "rs 12", "RESEND: N:12"])
def test_every_resend_form_names_the_line(line: str) -> None:
    assert parse_response(line) == Resend(12)


@pytest.mark.parametrize(
    ("line", "hotend", "target", "bed"),
    [
        ("T:210.0 /210.0 B:60.0 /60.0 @:127", 210.0, 210.0, 60.0),
        ("T:21.3/ 0.0 B:20.1/ 0.0", 21.3, 0.0, 20.1),
        (
            " T:21.30 /0.00 B:21.00 /0.00 T0:21.30 /0.00 T1:22.10 /0.00 @:0 B@:0 @0:0 @1:0",
            21.3,
            0.0,
            21.0,
        ),
        (
            "T:210.0 /210.0 B:60.0 /60.0 T0:210.0 /210.0 @:127 B@:0 P:35.2 A:31.5",
            210.0,
            210.0,
            60.0,
        ),
    ],
)
def test_temperature_reports_in_every_common_format(
    line: str, hotend: float, target: float, bed: float
) -> None:
    report = parse_response(line)
    assert isinstance(report, Temperatures)
    assert report.hotend is not None and report.hotend.current_c == hotend
    assert report.hotend.target_c == target
    assert report.bed is not None and report.bed.current_c == bed


def test_several_tools_are_read_each() -> None:
    report = parse_response("T0:200.0 /205.0 T1:150.5 /0.0 B:60.0 /60.0")
    assert isinstance(report, Temperatures)
    tool = report.heater("T1")
    assert tool is not None and tool.current_c == 150.5 and tool.target_c == 0.0


def test_the_heating_wait_report_is_a_keepalive() -> None:
    report = parse_response(" T:180.4 E:0 W:?")
    assert isinstance(report, Temperatures) and report.waiting
    assert report.hotend is not None and report.hotend.current_c == 180.4


def test_busy_and_waiting_for_a_person() -> None:
    assert parse_response("echo:busy: processing") == Busy("processing")
    busy = parse_response("echo:busy: paused for user")
    assert isinstance(busy, Busy) and busy.waiting_for_operator


def test_host_actions() -> None:
    assert parse_response("//action:pause") == Action("pause")
    assert parse_response("//action:prompt_begin Nozzle Parked") == Action(
        "prompt_begin", "Nozzle Parked"
    )


def test_m115_firmware_line_and_capabilities() -> None:
    info = parse_response(
        "FIRMWARE_NAME:Marlin 2.1.2 (Github) SOURCE_CODE_URL:github.com/"
        "MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 "
        "EXTRUDER_COUNT:1"
    )
    assert isinstance(info, FirmwareInfo)
    assert info.name == "Marlin 2.1.2 (Github)"
    assert info.fields["MACHINE_TYPE"] == "Ender-3"
    assert parse_response("Cap:AUTOREPORT_TEMP:1") == Capability("AUTOREPORT_TEMP", True)
    assert parse_response("Cap:BUILD_PERCENT:0") == Capability("BUILD_PERCENT", False)


@pytest.mark.parametrize(
    "line",
    [
        "Error:Printer halted. kill() called!",
        "Error:Thermal Runaway, system stopped! Heater_ID: 0",
        "Error:MAXTEMP triggered, system stopped! Heater_ID: bed",
        "Error:MINTEMP triggered, system stopped! Heater_ID: 0",
        "Error:Printer stopped due to errors. Fix the error and use M999 to restart.",
        "Error:Heating failed, system stopped! Heater_ID: 0",
        "!! Printer halted",
    ],
)
def test_fatal_errors_are_recognised(line: str) -> None:
    assert isinstance(parse_response(line), Fatal)


def test_a_checksum_error_is_not_fatal() -> None:
    assert parse_response("Error:checksum mismatch, Last Line: 9") == ErrorMessage(
        "checksum mismatch, Last Line: 9"
    )


def test_echo_and_start() -> None:
    assert parse_response('echo:Unknown command: "M9999"') == Echo('Unknown command: "M9999"')
    assert parse_response("start") == Echo("start")
