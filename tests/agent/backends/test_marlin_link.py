"""The line protocol alone: numbering, checksums, resends, flow control, timeouts."""

from __future__ import annotations

import pytest

from agent.backends.marlin.link import LineLink, LinkError, checksum, frame


def test_frames_carry_number_and_marlins_checksum() -> None:
    assert frame(1, "M115") == b"N1 M115*39\n"
    assert checksum(b"N1 M115") == 39


def test_one_line_in_flight_until_its_ok() -> None:
    link: LineLink[str] = LineLink(in_flight=1)
    link.send("G28", "a", 0.0)
    assert not link.has_room()
    link.on_ok(None, 0.1)
    assert link.take() == ["a"] and link.has_room()


def test_resend_with_ok_waits_for_the_ok_then_sends_the_line_again() -> None:
    link: LineLink[str] = LineLink(resend_ok=True)
    link.send("G1 X1", "a", 0.0)
    link.on_resend(1, 0.0)
    assert link.next_resend(0.0) is None  # the ok that belongs to the refused line first
    link.on_ok(None, 0.0)
    assert link.take() == []
    assert link.next_resend(0.0) == frame(1, "G1 X1")
    link.on_ok(None, 0.0)
    assert link.take() == ["a"]


def test_resend_without_ok_sends_the_line_again_at_once() -> None:
    link: LineLink[str] = LineLink(resend_ok=False)
    link.send("G1 X1", "a", 0.0)
    link.on_resend(1, 0.0)
    assert link.next_resend(0.0) == frame(1, "G1 X1")


def test_a_firmware_that_leaves_out_the_ok_is_learnt_after_one_timeout() -> None:
    link: LineLink[str] = LineLink(resend_ok=True, answer_timeout_s=1.0)
    link.send("G1 X1", "a", 0.0)
    link.on_resend(1, 0.0)
    assert link.check_timeout(1.5)
    assert not link.resend_ok
    assert link.next_resend(1.5) == frame(1, "G1 X1")


def test_lines_in_flight_after_a_bad_one_rewind_only_once() -> None:
    link: LineLink[int] = LineLink(in_flight=4, rx_buffer_bytes=512, resend_ok=False)
    for i in range(4):
        link.send(f"G1 X{i}", i, 0.0)
    link.on_ok(None, 0.0)  # line 1
    link.on_resend(2, 0.0)  # line 2 was bad; 3 and 4 will be refused too
    link.on_resend(2, 0.0)
    link.on_resend(2, 0.0)
    again = []
    while (data := link.next_resend(0.0)) is not None:
        again.append(data)
    assert again == [frame(2, "G1 X1"), frame(3, "G1 X2"), frame(4, "G1 X3")]
    for _ in range(3):
        link.on_ok(None, 0.0)
    assert link.take() == [0, 1, 2, 3]


def test_silence_sends_the_oldest_line_again() -> None:
    link: LineLink[str] = LineLink(answer_timeout_s=1.0)
    link.send("G1 X1", "a", 0.0)
    assert not link.check_timeout(0.5)
    assert link.check_timeout(1.1)
    assert link.next_resend(1.1) == frame(1, "G1 X1")


def test_keepalives_hold_off_the_timeout() -> None:
    link: LineLink[str] = LineLink(answer_timeout_s=1.0)
    link.send("G28", "a", 0.0)
    for second in range(1, 10):
        link.on_keepalive(second * 0.8)
        assert not link.check_timeout(second * 0.8 + 0.5)


def test_a_resend_for_the_next_unsent_line_means_everything_ran() -> None:
    link: LineLink[str] = LineLink(resend_ok=False, answer_timeout_s=1.0)
    link.send("G1 X1", "a", 0.0)
    assert link.check_timeout(2.0)  # the ok was lost; the line goes again
    assert link.next_resend(2.0) is not None
    link.on_resend(2, 2.1)  # the firmware had run line 1 and wants line 2
    assert link.take() == ["a"] and link.idle


def test_advanced_ok_acknowledges_up_to_its_line() -> None:
    link: LineLink[int] = LineLink(in_flight=3, rx_buffer_bytes=512)
    for i in range(3):
        link.send(f"G1 X{i}", i, 0.0)
    link.on_ok(2, 0.0)
    assert link.take() == [0, 1]


def test_receive_buffer_bounds_what_is_in_flight() -> None:
    link: LineLink[int] = LineLink(in_flight=8, rx_buffer_bytes=40)
    link.send("G1 X100.000 Y100.000", 0, 0.0)
    assert not link.has_room(len(frame(2, "G1 X100.000 Y100.000")))


def test_a_line_older_than_the_history_cannot_be_sent_again() -> None:
    link: LineLink[int] = LineLink(history=100)
    for i in range(150):
        link.send("G1 X1", i, 0.0)
        link.on_ok(None, 0.0)
    with pytest.raises(LinkError, match="asked for line 3 again"):
        link.on_resend(3, 0.0)
