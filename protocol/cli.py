"""`makerfarm schema`: the JSON Schema of every message, for clients in any language.

Without `--out` it prints one JSON object keyed by message type. With `--out DIR` it
writes `DIR/<type>.schema.json` for each message and `DIR/index.json` listing them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from protocol.schema import SchemaEntry, collect_schemas, json_schema, schema_file_name


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "types",
        nargs="*",
        metavar="TYPE",
        help="only these message types (e.g. job.submit); default: all",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write one <type>.schema.json per message and index.json here",
    )
    parser.add_argument(
        "--json", action="store_true", help="with --out, report the files written as JSON"
    )


def _selected(names: list[str]) -> dict[str, SchemaEntry] | str:
    entries = collect_schemas()
    unknown = [name for name in names if name not in entries]
    if unknown:
        return f"unknown message type {', '.join(map(repr, unknown))}; known types: " + ", ".join(
            entries
        )
    return {name: entries[name] for name in names} if names else entries


def _index(entries: dict[str, SchemaEntry]) -> dict[str, Any]:
    from protocol.base import SCHEMA_VERSION

    return {
        "schema": SCHEMA_VERSION,
        "messages": [
            {
                "type": name,
                "file": schema_file_name(name),
                "title": entry.model.__name__,
                "direction": entry.direction,
                "description": _first_line(entry.model.__doc__),
            }
            for name, entry in entries.items()
        ],
    }


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""


def _write(out: Path, entries: dict[str, SchemaEntry]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, entry in entries.items():
        path = out / schema_file_name(name)
        path.write_text(json.dumps(json_schema(entry), indent=2, sort_keys=True) + "\n")
        written.append(path)
    index = out / "index.json"
    index.write_text(json.dumps(_index(entries), indent=2) + "\n")
    written.append(index)
    return written


def run(args: argparse.Namespace) -> int:
    entries = _selected(list(args.types))
    if isinstance(entries, str):
        print(f"makerfarm schema: {entries}", file=sys.stderr)
        return 2
    if args.out is None:
        schemas = {name: json_schema(entry) for name, entry in entries.items()}
        print(json.dumps(schemas, indent=2, sort_keys=True))
        return 0
    try:
        written = _write(args.out, entries)
    except OSError as exc:
        print(
            f"makerfarm schema: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    if args.json:
        print(json.dumps({"out": str(args.out), "files": [str(p) for p in written]}, indent=2))
    else:
        print(f"wrote {len(written) - 1} schemas and index.json to {args.out}")
    return 0
