"""The agent on the Raspberry Pi beside each printer.

    from agent import Agent, parse_config

    agent = Agent(parse_config(open("agent.toml").read()))
    agent.start()   # connects the printer back-end and the broker, runs on its own thread
    ...
    agent.stop()    # leaves `offline` behind; undelivered events stay on disk

Where things are:
- `agent.py`: the Agent (life cycle, its loop, inbound routing)
- `config.py`: the TOML configuration; `cli.py`: `makerfarm agent`; `systemd.py`: the unit
- `link.py`: the MQTT link (paho, persistent session, Last Will, reconnects)
- `commands.py`: each controller command; `intake.py`: accepting a plate (hash, size, safety)
- `printer_events.py`: what the printer did -> PrinterEvents; `state.py`: PrinterState
- `session.py`: what the agent knows about its printer between messages
- `outbox.py` + `delivery.py`: events on disk until the broker acknowledges them, in order
- `ledger.py`: plates run and the bed-clear flag; `store.py`: the SQLite file both live in
- `spool.py`: G-code blobs and programs on disk; `journal.py`: what the printer ran
- `backends/`: the printer back-end interface and the simulated printer

Light on purpose: it imports only `protocol`, `firmware_profiles`, paho-mqtt and pydantic.
"""

from agent.agent import Agent
from agent.config import AgentConfig, ConfigError, load_config, parse_config

__all__ = ["Agent", "AgentConfig", "ConfigError", "load_config", "parse_config"]
