"""`--profile`: sample G with py-spy under load and rank functions by cumulative time.

py-spy is not a project dependency: `.venv/bin/pip install py-spy` when you want this. It
pauses the process for each sample (exact stacks), so G serves fewer requests while sampled;
read the shares, not the throughput.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

# frames every sample of the serving thread starts with: they say nothing about the cost
_ENTRY = re.compile(
    r"^(thread \(|<module> |main \(aigateway|serve \(aigateway|run \(uvicorn|asyncio_run "
    r"|Server\.run |Runner\.run )"
)
_LOOP = "Runner.run (asyncio/runners.py)"


def binary() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.is_file() else shutil.which("py-spy")


def record(pid: int, seconds: int, out: Path, rate: int = 100) -> subprocess.Popen[bytes]:
    spy = binary()
    if spy is None:
        raise RuntimeError("py-spy is not installed (.venv/bin/pip install py-spy)")
    argv = [spy, "record", "-p", str(pid), "-d", str(seconds), "-r", str(rate)]
    argv += ["-f", "raw", "-o", str(out), "--threads"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rank(raw: Path, top: int = 15) -> dict[str, Any]:
    """Shares of the main thread's busy samples: cumulative (on the stack) and self (on top)."""
    cumulative: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "MainThread" not in stack.split(";", 1)[0]:
            continue  # idle executor threads and the like
        samples = int(count)
        total += samples
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        if frames[-1] == _LOOP:
            own["(event loop: uvloop, C code)"] += samples
            continue
        own[frames[-1]] += samples
        for frame in set(frames):
            if not _ENTRY.match(frame):
                cumulative[frame] += samples
    share = 100 / total if total else 0.0
    return {
        "samples": total,
        "cumulative": [(f, n * share) for f, n in cumulative.most_common(top)],
        "self": [(f, n * share) for f, n in own.most_common(top)],
    }
