"""Topic builders, filters and the parser: every topic of the map round-trips, and anything
malformed (wrong root or version, wildcards, bad ids, unknown shapes) is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import topics
from protocol.errors import RejectionCode, TopicError
from protocol.topics import TOPICS, ParsedTopic, TopicKind, parse_topic, topic_filter

SHA = "ab" * 32
BUILT: dict[TopicKind, tuple[str, ParsedTopic]] = {
    TopicKind.MESH: (
        topics.mesh_topic("acme", SHA),
        ParsedTopic(TopicKind.MESH, shop="acme", sha256=SHA),
    ),
    TopicKind.JOB_SUBMIT: (
        topics.job_submit_topic("acme"),
        ParsedTopic(TopicKind.JOB_SUBMIT, shop="acme"),
    ),
    TopicKind.JOB_CANCEL: (
        topics.job_cancel_topic("acme", "j-1"),
        ParsedTopic(TopicKind.JOB_CANCEL, shop="acme", job="j-1"),
    ),
    TopicKind.JOB_STATUS: (
        topics.job_status_topic("acme", "j-1"),
        ParsedTopic(TopicKind.JOB_STATUS, shop="acme", job="j-1"),
    ),
    TopicKind.SHOP_ERRORS: (
        topics.shop_errors_topic("acme"),
        ParsedTopic(TopicKind.SHOP_ERRORS, shop="acme"),
    ),
    TopicKind.PRINTER_STATE: (
        topics.printer_state_topic("berlin", "mk4-1"),
        ParsedTopic(TopicKind.PRINTER_STATE, site="berlin", printer="mk4-1"),
    ),
    TopicKind.PRINTER_TELEMETRY: (
        topics.printer_telemetry_topic("berlin", "mk4-1"),
        ParsedTopic(TopicKind.PRINTER_TELEMETRY, site="berlin", printer="mk4-1"),
    ),
    TopicKind.PRINTER_EVENTS: (
        topics.printer_events_topic("berlin", "mk4-1"),
        ParsedTopic(TopicKind.PRINTER_EVENTS, site="berlin", printer="mk4-1"),
    ),
    TopicKind.PRINTER_CMD: (
        topics.printer_cmd_topic("berlin", "mk4-1"),
        ParsedTopic(TopicKind.PRINTER_CMD, site="berlin", printer="mk4-1"),
    ),
    TopicKind.PRINTER_GCODE: (
        topics.printer_gcode_topic("berlin", "mk4-1", SHA),
        ParsedTopic(TopicKind.PRINTER_GCODE, site="berlin", printer="mk4-1", sha256=SHA),
    ),
    TopicKind.STAFF_CMD: (
        topics.staff_cmd_topic("berlin"),
        ParsedTopic(TopicKind.STAFF_CMD, site="berlin"),
    ),
    TopicKind.STAFF_REPLIES: (
        topics.staff_replies_topic("berlin"),
        ParsedTopic(TopicKind.STAFF_REPLIES, site="berlin"),
    ),
    TopicKind.FLEET_PRINTER: (
        topics.fleet_printer_topic("berlin", "mk4-1"),
        ParsedTopic(TopicKind.FLEET_PRINTER, site="berlin", printer="mk4-1"),
    ),
    TopicKind.FLEET_QUEUE: (topics.fleet_queue_topic(), ParsedTopic(TopicKind.FLEET_QUEUE)),
    TopicKind.FLEET_PLATES: (
        topics.fleet_plates_topic("berlin"),
        ParsedTopic(TopicKind.FLEET_PLATES, site="berlin"),
    ),
    TopicKind.FLEET_SITE: (
        topics.fleet_site_topic("berlin"),
        ParsedTopic(TopicKind.FLEET_SITE, site="berlin"),
    ),
    TopicKind.FLEET_ALERTS: (topics.fleet_alerts_topic(), ParsedTopic(TopicKind.FLEET_ALERTS)),
}


def test_every_topic_kind_has_a_builder_covered_here() -> None:
    assert set(BUILT) == set(TopicKind) == set(TOPICS)


@pytest.mark.parametrize("kind", list(TopicKind))
def test_built_topic_parses_back_to_its_ids(kind: TopicKind) -> None:
    topic, expected = BUILT[kind]
    assert topic.startswith("makerfarm/v1/")
    assert parse_topic(topic) == expected


def test_topics_read_as_the_design_spells_them() -> None:
    assert topics.job_submit_topic("acme") == "makerfarm/v1/shops/acme/jobs/submit"
    assert topics.job_status_topic("acme", "j-1") == "makerfarm/v1/shops/acme/jobs/j-1/status"
    assert topics.printer_state_topic("b", "p") == "makerfarm/v1/sites/b/printers/p/state"
    assert (
        topics.printer_gcode_topic("b", "p", SHA) == f"makerfarm/v1/sites/b/printers/p/gcode/{SHA}"
    )
    assert topics.fleet_printer_topic("b", "p") == "makerfarm/v1/fleet/printers/b/p"
    assert topics.fleet_queue_topic() == "makerfarm/v1/fleet/queue"


def test_filters_put_wildcards_where_ids_are_not_given() -> None:
    assert topic_filter(TopicKind.JOB_SUBMIT) == "makerfarm/v1/shops/+/jobs/submit"
    assert topic_filter(TopicKind.MESH) == "makerfarm/v1/shops/+/meshes/+"
    assert (
        topic_filter(TopicKind.JOB_STATUS, shop="acme") == "makerfarm/v1/shops/acme/jobs/+/status"
    )
    assert (
        topic_filter(TopicKind.PRINTER_STATE, site="berlin")
        == "makerfarm/v1/sites/berlin/printers/+/state"
    )
    assert topics.fleet_filter() == "makerfarm/v1/fleet/#"


def test_retained_topics_are_the_current_state_ones() -> None:
    retained = {kind for kind, spec in TOPICS.items() if spec.retained}
    assert retained == {
        TopicKind.JOB_STATUS,
        TopicKind.PRINTER_STATE,
        TopicKind.FLEET_PRINTER,
        TopicKind.FLEET_QUEUE,
        TopicKind.FLEET_PLATES,
        TopicKind.FLEET_SITE,
        TopicKind.FLEET_ALERTS,
    }
    assert {kind for kind, spec in TOPICS.items() if spec.qos == 0} == {TopicKind.PRINTER_TELEMETRY}


@pytest.mark.parametrize(
    ("topic", "says"),
    [
        ("makerfarm/v2/shops/acme/jobs/submit", "version 'v2'"),
        ("other/v1/shops/acme/jobs/submit", "not under makerfarm/v1/"),
        ("/makerfarm/v1/shops/acme/jobs/submit", "not under makerfarm/v1/"),
        ("makerfarm/v1/shops/+/jobs/submit", "wildcard '+'"),
        ("makerfarm/v1/fleet/#", "wildcard '#'"),
        ("makerfarm/v1/shops//jobs/submit", "shop id ''"),
        ("makerfarm/v1/shops/ACME/jobs/submit", "shop id 'ACME'"),
        ("makerfarm/v1/shops/-acme/jobs/submit", "shop id '-acme'"),
        ("makerfarm/v1/shops/" + "a" * 65 + "/jobs/submit", "is not valid"),
        ("makerfarm/v1/shops/acme/jobs/submit/", "not in the makerfarm v1 topic map"),
        ("makerfarm/v1/shops/acme/jobs/j-1/delete", "not in the makerfarm v1 topic map"),
        ("makerfarm/v1/shops/acme/meshes/" + "AB" * 32, "expected 64 lowercase hex"),
        ("makerfarm/v1/shops/acme/meshes/abc", "expected 64 lowercase hex"),
        ("makerfarm/v1/sites/berlin/printers/p 1/state", "printer id 'p 1'"),
        ("makerfarm/v1/sites/berlin/printers/p\x001/state", "printer id"),
        ("makerfarm/v1/sites/berlin/printers/p1\n/state", "printer id"),
        ("makerfarm/v1/" + "x/" * 200 + "state", "characters long"),
        ("makerfarm/v1", "not under makerfarm/v1/"),
    ],
)
def test_malformed_topics_are_refused_with_the_reason(topic: str, says: str) -> None:
    with pytest.raises(TopicError) as caught:
        parse_topic(topic)
    assert says in str(caught.value)
    assert caught.value.code is RejectionCode.INVALID_TOPIC


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "", "Shop", "a b", "x" * 65, "é"])
def test_builders_refuse_ids_that_would_change_the_topic(bad: str) -> None:
    with pytest.raises(TopicError, match="is not valid"):
        topics.job_status_topic("acme", bad)
    with pytest.raises(TopicError, match="is not valid"):
        topic_filter(TopicKind.PRINTER_STATE, site=bad)


def test_a_non_string_topic_is_refused() -> None:
    with pytest.raises(TopicError, match="must be a string"):
        parse_topic(b"makerfarm/v1/fleet/queue")  # type: ignore[arg-type]


ids = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,63}\Z")


@settings(max_examples=150, deadline=None)
@given(site=ids, printer=ids, job=ids, shop=ids)
def test_any_valid_ids_round_trip_through_every_builder(
    site: str, printer: str, job: str, shop: str
) -> None:
    assert parse_topic(topics.job_cancel_topic(shop, job)).job == job
    parsed = parse_topic(topics.printer_events_topic(site, printer))
    assert (parsed.site, parsed.printer) == (site, printer)
    assert parse_topic(topics.fleet_site_topic(site)).site == site


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(
            st.sampled_from(["makerfarm", "v1", "shops", "sites", "jobs", "+", "#", "", "a"])
            | st.text(max_size=8),
            max_size=9,
        ).map("/".join),
    )
)
def test_parser_only_ever_returns_a_topic_it_could_rebuild_or_raises_topic_error(
    topic: str,
) -> None:
    try:
        parsed = parse_topic(topic)
    except TopicError as error:
        assert str(error)
        return
    ids = {
        name: getattr(parsed, name)
        for name in ("shop", "site", "printer", "job", "sha256")
        if getattr(parsed, name) is not None
    }
    assert topic_filter(parsed.kind, **ids) == topic


def test_readme_topic_table_lists_every_topic() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("<!-- section: protocol", 1)[1].split("<!-- section:", 1)[0]
    missing = [spec.pattern for spec in TOPICS.values() if f"| `{spec.pattern}` |" not in section]
    assert missing == [], f"README's topic table lacks {missing}"


def test_broker_rule_filters_cover_the_root_and_one_site() -> None:
    assert topics.root_filter() == "makerfarm/v1/#"
    assert topics.site_filter("berlin") == "makerfarm/v1/sites/berlin/#"
    with pytest.raises(TopicError):
        topics.site_filter("Berlin/#")
