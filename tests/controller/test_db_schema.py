"""The farm database: migrations build it, the models agree with them, the engine is set up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from controller.db import (
    DatabaseUrlError,
    SchemaTooNew,
    create_engine_for,
    current_revision,
    head_revision,
    migrate,
    normalise_url,
    schema_differences,
    unit_of_work,
)
from controller.db.tables import Event, Printer, Shop, metadata

FARM_TABLES = {
    "sites",
    "printers",
    "shops",
    "meshes",
    "jobs",
    "parts",
    "plates",
    "plate_parts",
    "events",
    "processed_messages",
}


def test_a_fresh_database_migrates_to_head_and_again_without_change(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        assert current_revision(engine) is None
        assert migrate(db_url) == head_revision()
        assert migrate(db_url) == head_revision()
        assert set(inspect(engine).get_table_names()) >= FARM_TABLES
    finally:
        engine.dispose()


def test_upgrading_keeps_the_data_and_fills_what_the_new_schema_adds(db_url: str) -> None:
    assert migrate(db_url, "0001") == "0001"
    engine = create_engine_for(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sites (id, name, lat, lon, tz, staffed_hours) "
                    "VALUES ('s1', 's1', 0, 0, 'UTC', '{}')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO printers (id, site_id, name, profile_id, loaded_material, "
                    "loaded_colour, maintenance, bed_clear, state, state_connection, state_seq) "
                    "VALUES ('p1', 's1', 'p1', 'x', 'PLA', 'black', false, true, 'idle', 1, 1)"
                )
            )
        assert migrate(engine) == head_revision()
        with unit_of_work(engine) as session:
            printer = session.get(Printer, "p1")
            assert printer is not None
            assert (printer.reported_material, printer.reported_colour) == ("PLA", "black")
    finally:
        engine.dispose()


def test_a_database_from_a_newer_makerfarm_is_refused_with_what_to_do(
    farm_engine: Engine,
) -> None:
    with farm_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaTooNew, match="schema revision 9999, which this makerfarm"):
        migrate(farm_engine)
    assert current_revision(farm_engine) == "9999"


def test_models_and_migrations_agree(farm_engine: Engine) -> None:
    assert schema_differences(farm_engine) == []


def test_the_agreement_check_sees_a_column_the_migrations_lack(farm_engine: Engine) -> None:
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["shops"].append_column(Column("stars", Integer, nullable=True))
    differences = schema_differences(farm_engine, changed)
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "stars")]


def test_the_event_log_refuses_updates_and_deletes(farm_engine: Engine) -> None:
    with unit_of_work(farm_engine) as session:
        session.add(
            Event(
                entity_kind="job", entity_id="j1", to_state="received", kind="created", actor="test"
            )
        )
    for statement in ("UPDATE events SET actor = 'forger'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), farm_engine.begin() as connection:
            connection.execute(text(statement))
    with unit_of_work(farm_engine) as session:
        assert [event.actor for event in session.exec(select(Event))] == ["test"]


def test_times_read_back_as_utc_whatever_zone_they_were_given_in(farm_engine: Engine) -> None:
    created = datetime(2026, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    with unit_of_work(farm_engine) as session:
        session.add(Shop(id="acme", created_at=created))
    with unit_of_work(farm_engine) as session:
        shop = session.get(Shop, "acme")
        assert shop is not None
        assert shop.created_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
        assert shop.created_at.tzinfo is UTC


def test_naive_times_are_refused(farm_engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), unit_of_work(farm_engine) as session:
        session.add(Shop(id="acme", created_at=datetime(2026, 3, 1, 12, 0)))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(farm_engine: Engine) -> None:
    with pytest.raises(DBAPIError), farm_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO printers (id, site_id, profile_id, maintenance, bed_clear, state, "
                "state_seq) VALUES ('p1', 'nowhere', 'x', false, true, 'offline', 0)"
            )
        )


def test_postgresql_urls_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h:5432/farm").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/farm").drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("mysql://u@h/farm", "not supported"),
        ("postgresql+psycopg2://u@h/farm", "psycopg 3"),
        ("sqlite://", "in-memory"),
        ("not a url", "cannot read database URL"),
    ],
)
def test_unusable_database_urls_say_what_to_write(url: str, hint: str) -> None:
    with pytest.raises(DatabaseUrlError, match=hint):
        create_engine_for(url)
