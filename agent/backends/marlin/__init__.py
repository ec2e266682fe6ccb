"""Marlin-family printers over USB serial (Marlin 1.x/2.x, Prusa's firmwares, forks).

`link.py` numbers, checksums and re-sends lines; `responses.py` reads what the
firmware says; `connection.py` owns the serial port; `streamer.py` reads the plate's
program; `plate_run.py` and `reactions.py` run a plate; `backend.py` is the
`PrinterBackend` the agent drives.
"""

from agent.backends.marlin.backend import MarlinOptions, MarlinPrinter

__all__ = ["MarlinOptions", "MarlinPrinter"]
