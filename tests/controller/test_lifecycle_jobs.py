"""Jobs: accepted once per client_ref, rejected with a reason, cancelled, and their status."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from controller import lifecycle as lc
from controller.db.tables import Job, Part
from protocol.errors import RejectionCode
from protocol.messages.jobs import JobStatus
from protocol.messages.printer import EventKind
from tests.controller.conftest import MESH, Farm, submit


def test_accepting_a_job_creates_one_queued_part_per_unit(farm: Farm) -> None:
    outcome = farm.submit("order-1", quantity=3)
    assert outcome.created and outcome.job.state == "accepted"
    assert farm.part_states(outcome.job.id) == ["queued"] * 3
    assert outcome.changes.jobs == {outcome.job.id}
    assert farm.part(f"{outcome.job.id}-0002").print_seconds_estimate == 1200.0


def test_a_resubmit_with_the_same_client_ref_is_the_same_job(farm: Farm) -> None:
    first = farm.submit("order-1", quantity=3)
    again = farm.submit("order-1", quantity=3)
    assert not again.created
    assert again.job.id == first.job.id
    assert farm.session.exec(select(func.count()).select_from(Job)).one() == 1
    assert farm.session.exec(select(func.count()).select_from(Part)).one() == 3
    assert again.changes.events == []


def test_the_same_client_ref_from_another_shop_is_another_job(farm: Farm) -> None:
    first = farm.submit("order-1", shop="acme")
    other = farm.submit("order-1", shop="bolt")
    assert other.created and other.job.id != first.job.id


def test_a_rejected_job_says_why_and_a_fixed_resubmit_is_accepted(farm: Farm) -> None:
    rejected = lc.reject_job(
        farm.session,
        "acme",
        submit("order-9", 2),
        reason="mesh has 223 open edges around z=0; close the base",
        code=RejectionCode.MESH_INVALID,
    )
    farm.commit()
    status = lc.job_status(farm.session, rejected.job.id)
    assert (status.state, status.code) == ("rejected", RejectionCode.MESH_INVALID)
    assert status.reason.startswith("mesh has 223 open edges")
    accepted = farm.submit("order-9", quantity=2)
    assert accepted.job.id == rejected.job.id and accepted.job.state == "accepted"
    assert lc.job_status(farm.session, rejected.job.id).reason == ""
    kinds = [(e.from_state, e.to_state) for e in farm.events("job", rejected.job.id)]
    assert kinds == [(None, "received"), ("received", "rejected"), ("rejected", "accepted")]


def test_a_rejection_does_not_undo_an_accepted_job(farm: Farm) -> None:
    accepted = farm.submit("order-1")
    again = lc.reject_job(farm.session, "acme", submit("order-1", 2), reason="too late")
    assert again.job.id == accepted.job.id and again.job.state == "accepted"


def test_a_job_for_a_mesh_never_stored_is_refused(farm: Farm) -> None:
    missing = submit("order-1", 1).model_copy(update={"mesh_sha256": "c" * 64})
    with pytest.raises(lc.LifecycleError, match=r"mesh c+ was not stored") as error:
        lc.accept_job(farm.session, "acme", missing)
    assert error.value.code == RejectionCode.MESH_MISSING
    assert MESH != "c" * 64


def test_job_status_counts_parts_by_state_and_round_trips_the_wire(farm: Farm) -> None:
    job = farm.submit("order-1", quantity=3).job
    farm.plan(("mk4-1", [f"{job.id}-0001", f"{job.id}-0002"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    status = lc.job_status(farm.session, job.id)
    assert status.state == "printing"
    assert (status.parts.queued, status.parts.printing, status.parts.printed) == (1, 2, 0)
    assert JobStatus.model_validate_json(status.model_dump_json(by_alias=True)) == status


def test_cancelling_a_waiting_job_cancels_its_parts_and_drops_them_from_plans(farm: Farm) -> None:
    job = farm.submit("order-1", quantity=2).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    changes = lc.cancel_job(farm.session, job.id, actor="shop:acme", reason="customer refund")
    farm.commit()
    assert farm.part_states(job.id) == ["cancelled", "cancelled"]
    assert changes.requests == []
    status = lc.job_status(farm.session, job.id)
    assert (status.state, status.parts.cancelled) == ("cancelled", 2)
    assert farm.part(f"{job.id}-0001").plate_id is None


def test_a_finished_job_cannot_be_cancelled(farm: Farm) -> None:
    job = farm.submit("order-1", quantity=1).job
    farm.plan(("mk4-1", [f"{job.id}-0001"]), plate_ids=["plate-a"])
    farm.print_plate("mk4-1", "plate-a")
    farm.agent("mk4-1", EventKind.PLATE_FINISHED, "plate-a")
    with pytest.raises(lc.LifecycleError, match="is done and can no longer be cancelled"):
        lc.cancel_job(farm.session, job.id, actor="shop:acme")


def test_a_resubmit_rejected_again_carries_the_new_reason(farm: Farm) -> None:
    first = lc.reject_job(
        farm.session,
        "acme",
        submit("order-9", 2),
        reason="mesh missing",
        code=RejectionCode.MESH_MISSING,
    )
    again = lc.reject_job(
        farm.session,
        "acme",
        submit("order-9", 2),
        reason="the part is 400 mm tall; the tallest printer takes 250 mm",
        code=RejectionCode.DOES_NOT_FIT,
    )
    farm.commit()
    assert again.job.id == first.job.id
    status = lc.job_status(farm.session, first.job.id)
    assert (status.state, status.code) == ("rejected", RejectionCode.DOES_NOT_FIT)
    assert status.reason.startswith("the part is 400 mm tall")
