"""The TUI's screens: fleet, printer detail, queue, plates, sites, alerts, help, dialogs."""
