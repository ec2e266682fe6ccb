"""The rules the message models hold beyond plain types: refusals say why, requeues name one
thing, printer states order correctly around a Last Will, rejections never echo a raw topic."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from protocol import (
    EventKind,
    JobState,
    JobStatus,
    PrinterEvent,
    PrinterState,
    PrinterStatus,
    ProtocolError,
    Rejection,
    RejectionCode,
    StaffReply,
    StaffRequeue,
    offline_will,
)
from tests.protocol.samples import AT, SAMPLES, STAFF


def state(connection: int, sequence: int, run_id: str = "run-a") -> PrinterState:
    return SAMPLES["printer.state"].model_copy(  # type: ignore[return-value]
        update={"connection": connection, "sequence": sequence, "run_id": run_id}
    )


def test_rejected_and_failed_job_statuses_need_a_reason() -> None:
    for job_state in (JobState.REJECTED, JobState.FAILED):
        with pytest.raises(ValidationError, match="needs a reason"):
            JobStatus(job_id="j-1", client_ref="o-1", state=job_state, updated_at=AT)
    ok = JobStatus(
        job_id="j-1",
        client_ref="o-1",
        state=JobState.REJECTED,
        reason="mesh has 223 open edges around z=0; close the base or export it as a solid",
        code=RejectionCode.MESH_INVALID,
        updated_at=AT,
    )
    assert ok.code is RejectionCode.MESH_INVALID


def test_naive_times_are_refused_when_building_a_message_too() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        JobStatus(
            job_id="j-1", client_ref="o-1", state=JobState.ACCEPTED, updated_at=datetime(2026, 1, 1)
        )


def test_requeue_names_either_a_job_or_parts() -> None:
    assert StaffRequeue(**STAFF, job_id="j-1").job_id == "j-1"
    with pytest.raises(ValidationError, match="either a job_id or part_ids"):
        StaffRequeue(**STAFF)
    with pytest.raises(ValidationError, match="either a job_id or part_ids"):
        StaffRequeue(**STAFF, job_id="j-1", part_ids=("p-1",))


def test_a_refused_staff_command_says_why() -> None:
    with pytest.raises(ValidationError, match="needs a reason"):
        StaffReply(command_id="c-1", action="staff.pause", staff_user="ana", accepted=False, at=AT)


def test_plate_events_need_their_plate_and_part_events_their_parts() -> None:
    with pytest.raises(ValidationError, match="needs a plate_id"):
        PrinterEvent(event_id="e-1", kind=EventKind.PLATE_FINISHED, at=AT)
    with pytest.raises(ValidationError, match="part_ids"):
        PrinterEvent(event_id="e-1", kind=EventKind.PART_CANCELLED, plate_id="pl-1", at=AT)
    with pytest.raises(ValidationError, match="command_id"):
        PrinterEvent(event_id="e-1", kind=EventKind.COMMAND_REFUSED, at=AT)


def test_single_line_texts_refuse_control_characters_but_notes_keep_newlines() -> None:
    with pytest.raises(ValidationError, match="control character"):
        StaffReply(
            command_id="c-1",
            action="staff.pause",
            staff_user="ana\x1b[2J",
            accepted=True,
            at=AT,
        )
    assert "\n" in SAMPLES["job.submit"].notes  # type: ignore[attr-defined]


def test_later_states_of_a_run_supersede_earlier_ones() -> None:
    assert state(1, 5).supersedes(state(1, 4))
    assert not state(1, 4).supersedes(state(1, 5))
    assert not state(1, 5).supersedes(state(1, 5))
    assert state(2, 0).supersedes(state(1, 99))


def test_the_will_supersedes_its_connection_but_not_the_next_one() -> None:
    will = offline_will(agent_version="0.1.0", run_id="run-a", connection=1, at=AT)
    assert will.state is PrinterStatus.OFFLINE
    assert will.supersedes(state(1, 10_000))
    assert state(2, 10_001).supersedes(will)
    assert not will.supersedes(state(2, 10_001))


def test_a_new_agent_run_replaces_the_old_one_whatever_its_clock_says() -> None:
    earlier_clock = state(1, 0, run_id="run-b").model_copy(update={"at": AT - timedelta(days=400)})
    assert earlier_clock.supersedes(state(7, 900, run_id="run-a"))


def test_rejection_of_a_hostile_topic_is_short_and_printable() -> None:
    topic = "makerfarm/v1/shops/acme/\x00\x1b[31m" + "x" * 10_000
    error = ProtocolError("job.submit payload is 99999 bytes", RejectionCode.PAYLOAD_TOO_LARGE)
    rejection = Rejection.of(topic, error, at=AT, client_ref=None)
    assert len(rejection.topic) <= 256
    assert rejection.topic.isprintable()
    assert rejection.code is RejectionCode.PAYLOAD_TOO_LARGE
    assert rejection.reason == "job.submit payload is 99999 bytes"


def test_protocol_error_reasons_are_bounded_and_printable() -> None:
    error = ProtocolError("bad\n" + "y" * 5000)
    assert len(error.reason) <= 500
    assert error.reason.isprintable()
    assert str(error) == error.reason
