"""The staff terminal UI (`makerfarm tui`): a Textual app that follows the farm over MQTT.

`tui.app.MakerfarmApp` is the app; `tui.mqtt_worker` its broker link; `tui.store` the
latest summaries it has heard; `tui.screens` the views; `tui.widgets` their parts. It
imports only `protocol` from the farm, and never opens the database.
"""
