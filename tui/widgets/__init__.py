"""Widgets the TUI's screens are built from: the header with the alert count, the alert
strip, the bed drawing."""
