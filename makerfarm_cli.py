"""The `makerfarm` command: one entry point, subcommands imported lazily.

Each subcommand lives in the part that owns it and exposes two functions:
`configure(parser)` adds its arguments and `run(args) -> int` does the work.
Only the chosen subcommand's module is imported, so `makerfarm agent` on a
Raspberry Pi never loads the server's libraries.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name -> (module that implements it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "schema": ("protocol.cli", "write the JSON Schema of every message"),
    "profiles": ("firmware_profiles.cli", "list and show printer profiles"),
    "gcode": ("firmware_profiles.gcode_cli", "G-code statistics and safety check"),
    "slice": ("slicing.cli", "slice models on one plate into G-code for a printer"),
    "plan": ("scheduler.cli", "plan plates for a farm instance (JSON in, plan out)"),
    "farmbench": ("scheduler.farmbench.cli", "generate and run scheduling benchmarks"),
    "demo": ("controller.demo", "a whole simulated farm on this machine, time sped up"),
    "controller": ("controller.cli", "run the farm's controller service (embedded broker if none)"),
    "submit": ("controller.submit_cli", "upload a mesh, submit a print job, follow its status"),
    "agent": ("agent.cli", "run the agent beside one printer"),
    "sim": ("controller.sim", "a large simulated farm against a broker: throughput, latencies"),
    "swarm": ("agent.swarm_cli", "many simulated printers and agents in one process (load)"),
    "tui": ("tui.cli", "the staff terminal UI"),
    "provision": ("controller.security.provision_cli", "sites, printers, shops, staff and keys"),
    "broker-config": ("controller.security.broker_cli", "Mosquitto config, passwords, ACLs"),
}


def _overview() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: makerfarm COMMAND [options]", "", "commands:"]
    for name, (_module, help_text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {help_text}")
    lines.append("")
    lines.append("Run 'makerfarm COMMAND --help' for the options of one command.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_overview())
        return 0
    name = args[0]
    if name not in COMMANDS:
        print(f"makerfarm: unknown command {name!r}\n", file=sys.stderr)
        print(_overview(), file=sys.stderr)
        return 2
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"makerfarm {name}", description=help_text)
    module.configure(parser)
    parsed = parser.parse_args(args[1:])
    result: int = module.run(parsed)
    return result


if __name__ == "__main__":
    sys.exit(main())
