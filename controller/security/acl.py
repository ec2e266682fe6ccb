"""Where each identity may publish and what it may read, as Mosquitto ACL rules.

Every pattern comes from protocol's topic builders and filters, so the rules follow the
topic map. A role's rules are one function of the identity; `acl_file_text` writes them
in Mosquitto's `acl_file` format (`user <name>` then `topic read|write|readwrite <pattern>`).
Anonymous clients get no rule at all, so they can do nothing even where the broker lets
them connect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controller.db.identity_tables import Identity
from controller.security.identities import Role, subject_of
from protocol import topics
from protocol.topics import TopicKind


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"


@dataclass(frozen=True)
class Rule:
    access: Access
    pattern: str


R, W = Access.READ, Access.WRITE


def controller_rules() -> list[Rule]:
    return [Rule(Access.READWRITE, topics.root_filter())]


def shop_rules(shop: str) -> list[Rule]:
    """Publish meshes, submits and cancels under its own `shops/{shop}/`; read its own
    job statuses and errors."""
    return [
        Rule(W, topics.topic_filter(TopicKind.MESH, shop=shop)),
        Rule(W, topics.job_submit_topic(shop)),
        Rule(W, topics.topic_filter(TopicKind.JOB_CANCEL, shop=shop)),
        Rule(R, topics.topic_filter(TopicKind.JOB_STATUS, shop=shop)),
        Rule(R, topics.shop_errors_topic(shop)),
    ]


def agent_rules(site: str, printer: str) -> list[Rule]:
    """Publish its own printer's state (and Last Will), telemetry and events; read its
    commands and G-code."""
    return [
        Rule(W, topics.printer_state_topic(site, printer)),
        Rule(W, topics.printer_telemetry_topic(site, printer)),
        Rule(W, topics.printer_events_topic(site, printer)),
        Rule(R, topics.printer_cmd_topic(site, printer)),
        Rule(R, topics.topic_filter(TopicKind.PRINTER_GCODE, site=site, printer=printer)),
    ]


def staff_rules(site: str) -> list[Rule]:
    """Command their own site; read its replies and printers, and the fleet summaries."""
    return [
        Rule(W, topics.staff_cmd_topic(site)),
        Rule(R, topics.staff_replies_topic(site)),
        Rule(R, topics.fleet_filter()),
        Rule(R, topics.topic_filter(TopicKind.PRINTER_STATE, site=site)),
        Rule(R, topics.topic_filter(TopicKind.PRINTER_EVENTS, site=site)),
        Rule(R, topics.topic_filter(TopicKind.PRINTER_TELEMETRY, site=site)),
    ]


def bridge_rules(site: str) -> list[Rule]:
    """A site broker carries its site's topics both ways and the fleet summaries in."""
    return [Rule(Access.READWRITE, topics.site_filter(site)), Rule(R, topics.fleet_filter())]


def rules_for(identity: Identity) -> list[Rule]:
    role = Role(identity.role)
    if role is Role.CONTROLLER:
        return controller_rules()
    if role is Role.SHOP:
        return shop_rules(identity.shop_id or subject_of(identity))
    if role is Role.AGENT:
        assert identity.site_id is not None and identity.printer_id is not None
        return agent_rules(identity.site_id, identity.printer_id)
    assert identity.site_id is not None
    if role is Role.STAFF:
        return staff_rules(identity.site_id)
    return bridge_rules(identity.site_id)


def acl_file_text(identities: list[Identity]) -> str:
    lines = [
        "# makerfarm broker ACLs, written by `makerfarm broker-config`: do not edit,",
        "# provision identities and write it again. Anonymous clients have no rule.",
        "",
    ]
    for identity in sorted(identities, key=lambda i: (i.role, i.username)):
        lines.append(f"# {identity.role} {subject_of(identity)}")
        lines.append(f"user {identity.username}")
        lines += [f"topic {rule.access.value} {rule.pattern}" for rule in rules_for(identity)]
        lines.append("")
    return "\n".join(lines)
