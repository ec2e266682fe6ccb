"""Who may do what on the farm: identities, their keys, the broker's rules, input limits.

- `passwords`: keys and their hashes in Mosquitto's own `$7$` (PBKDF2-SHA512) format.
- `identities`: sites, printers, shops and staff with their MQTT credentials (database).
- `provision_cli`: `makerfarm provision`, the operator's tool for the above.
- `acl` and `broker_config`: `makerfarm broker-config`, the Mosquitto configuration,
  password file and ACL file that enforce where each identity may publish and read.
- `limits`: the bounds every input from a peer is checked against before it is used.
"""
