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


def advanced_link(**options: object) -> LineLink[int]:
    link: LineLink[int] = LineLink(**options)  # type: ignore[arg-type]
    link.send("M115", -1, 0.0)
    link.on_ok(1, 0.0)  # an ADVANCED_OK answer: `ok N1 P15 B3`
    link.take()
    return link


def test_oks_that_name_their_line_switch_on_sending_ahead_within_the_receive_buffer() -> None:
    link = advanced_link(rx_buffer_bytes=128)
    assert link.sending_ahead
    sent = 0
    while link.has_room(len(frame(sent + 2, "G1 X100.000 Y100.000 E1.00000"))):
        link.send("G1 X100.000 Y100.000 E1.00000", sent, 0.0)
        sent += 1
    assert sent == 3 and link.bytes_in_flight <= 127  # the ring keeps one byte free


def test_plain_oks_keep_one_line_in_flight() -> None:
    link: LineLink[int] = LineLink(rx_buffer_bytes=128)
    link.send("M115", 0, 0.0)
    link.on_ok(None, 0.0)
    link.send("G1 X1", 1, 0.0)
    assert not link.sending_ahead and not link.has_room(10)


def test_send_ahead_can_be_switched_off() -> None:
    link = advanced_link(send_ahead=False)
    link.send("G1 X1", 0, 0.0)
    assert not link.sending_ahead and not link.has_room(10)


def test_a_lost_ok_is_made_good_by_the_next_numbered_ok() -> None:
    link = advanced_link()
    for i in range(3):
        link.send(f"G1 X{i}", i, 0.0)  # lines 2, 3, 4
    link.on_ok(3, 0.01)  # the ok for line 2 was lost
    assert link.take() == [0, 1]
    assert not link.check_timeout(0.02)


def test_refused_lines_count_in_the_buffer_until_their_echo() -> None:
    link = advanced_link()
    for i in range(3):
        link.send(f"G1 X{i}", i, 0.0)  # lines 2, 3, 4
    link.on_resend(2, 0.0)  # line 2 was bad; 3 and 4 are still in the buffer
    held = link.bytes_in_flight
    assert held == len(frame(3, "G1 X1")) + len(frame(4, "G1 X2"))
    link.next_resend(0.0)
    link.on_resend(2, 0.0)  # the echo for line 3
    assert link.bytes_in_flight == held - len(frame(3, "G1 X1")) + len(frame(2, "G1 X0"))
    link.on_ok(2, 0.0)
    assert link.take() == [0]


def test_the_answer_timeout_follows_the_ok_latency_within_its_bounds() -> None:
    link: LineLink[int] = LineLink(answer_timeout_s=10.0)
    assert link.timeout_s == 10.0  # the keep-alive interval is unknown: no shortcut
    link.keepalive_interval(1.0)
    for i in range(20):
        link.send("G1 X1", i, float(i))
        link.on_ok(None, i + 0.01)
    assert link.timeout_s == 2.5  # twice the keep-alive interval, plus a margin
    link.send("G1 X1", 99, 30.0)
    assert not link.check_timeout(32.0)
    assert link.check_timeout(32.6)


def test_a_busy_firmware_gets_the_full_timeout_until_its_next_ok() -> None:
    link: LineLink[int] = LineLink(answer_timeout_s=10.0)
    link.keepalive_interval(1.0)
    link.send("G1 X1", -1, 0.0)
    link.on_ok(None, 0.01)
    link.send("G28", 0, 0.0)
    link.on_keepalive(1.0)
    assert link.timeout_s == 10.0
    assert not link.check_timeout(9.0)
    link.on_ok(None, 9.5)
    assert link.timeout_s == 2.5


def test_slow_answers_lengthen_the_timeout() -> None:
    link: LineLink[int] = LineLink(answer_timeout_s=10.0)
    link.keepalive_interval(0.5)
    for i in range(20):
        link.send("G1 X1", i, i * 10.0)
        link.on_ok(None, i * 10.0 + (0.2 if i % 2 else 2.0))
    assert 2.0 < link.timeout_s <= 10.0
