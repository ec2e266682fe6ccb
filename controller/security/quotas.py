"""A shop's quotas and how many jobs it has open, read in one query for intake."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from controller.db.tables import Job, Shop
from controller.security.limits import ShopQuotas
from protocol.states import FINAL_JOB_STATES, JobState

_CLOSED = sorted({*FINAL_JOB_STATES, JobState.REJECTED})


def shop_admission(
    session: Session, shop_id: str, default_open_jobs: int
) -> tuple[int, ShopQuotas]:
    """(open jobs, quotas) of a shop; a shop never seen has none open and the defaults."""
    shop = session.get(Shop, shop_id)
    quotas = ShopQuotas.of(shop.quotas if shop is not None else None, default_open_jobs)
    query = (
        select(func.count())
        .select_from(Job)
        .where(Job.shop_id == shop_id, col(Job.state).not_in([str(state) for state in _CLOSED]))
    )
    return int(session.exec(query).one()), quotas
