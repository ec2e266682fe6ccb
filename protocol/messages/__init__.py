"""Every message model of the wire contract, split by concept (jobs, printer, commands,
staff, fleet). Importing this package registers them all in `protocol.base.MESSAGE_TYPES`."""

from protocol.messages import commands, fleet, jobs, printer, staff

__all__ = ["commands", "fleet", "jobs", "printer", "staff"]
