"""Run one uploaded mesh through the controller's mesh path under a memory limit, in a
process of its own: `python -m tests.security.mesh_probe FILE FORMAT BUDGET_MB`.

The path is the one intake takes: the upload check before the bytes are stored
(`controller.security.limits.check_mesh_upload`), then the loader a worker runs on the stored
file (`slicing.load_mesh`, as in `controller.workers.analyse_mesh`). The address space is
capped at what the loaded libraries already take plus BUDGET_MB, so a mesh that would need
more fails here with MemoryError instead of passing (the STL reader never loads trimesh).
Prints one JSON object: which stage refused it and why, or what else happened, and the peak
resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any


def _status_kb(field: str) -> int:
    """A figure of /proc/self/status: VmSize (address space), VmHWM (peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def probe(path: Path, fmt: str) -> dict[str, Any]:
    from controller.security.limits import check_mesh_upload
    from protocol.errors import ProtocolError
    from slicing import MeshRejected, load_mesh

    payload = path.read_bytes()
    try:
        check_mesh_upload(payload)
    except ProtocolError as exc:
        return {"refused_by": "upload", "code": str(exc.code), "reason": exc.reason}
    try:
        mesh = load_mesh(payload, fmt)
    except MeshRejected as exc:
        return {"refused_by": "loader", "code": exc.code, "reason": exc.reason}
    except MemoryError:
        return {"refused_by": None, "error": "MemoryError: over the memory budget"}
    except Exception as exc:  # reported to the test, which fails on it
        return {"refused_by": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"refused_by": None, "accepted": True, "triangles": mesh.triangles}


def main(argv: list[str]) -> int:
    path, fmt, budget_mb = Path(argv[0]), argv[1], int(argv[2])
    import controller.security.limits  # noqa: F401 - loaded before the cap is measured
    import slicing  # noqa: F401

    if fmt != "stl":
        import trimesh  # noqa: F401 - the 3MF and OBJ readers load it

    cap = (_status_kb("VmSize") + budget_mb * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    outcome = probe(path, fmt)
    outcome["peak_rss_mb"] = _status_kb("VmHWM") // 1024  # ru_maxrss survives exec
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
