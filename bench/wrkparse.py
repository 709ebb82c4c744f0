"""Running wrk and reading its `--latency` report."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent / "wrk"
_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class WrkResult:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    percentiles_ms: dict[str, float] = field(default_factory=dict)
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    raw: str = ""

    @property
    def p50_ms(self) -> float | None:
        return self.percentiles_ms.get("50")

    @property
    def p99_ms(self) -> float | None:
        return self.percentiles_ms.get("99")

    @property
    def errors(self) -> int:
        """Failed responses and socket errors; a run that completed nothing counts as one."""
        return self.non_2xx + sum(self.socket_errors.values()) + (0 if self.requests else 1)

    def error_text(self) -> str:
        parts = [] if self.requests else ["no response at all"]
        parts += [f"{self.non_2xx} non-2xx"] if self.non_2xx else []
        parts += [f"{n} {kind}" for kind, n in self.socket_errors.items() if n]
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("raw")
        data.update(p50_ms=self.p50_ms, p99_ms=self.p99_ms, errors=self.errors)
        return data


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise ValueError(f"unexpected wrk time: {text!r}")
    return float(match.group(1)) * _TIME_UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    result = WrkResult(raw=output)
    if match := re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output):
        result.requests = int(match.group(1))
        result.seconds = to_ms(match.group(2) + match.group(3)) / 1000
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(match.group(1))
    in_distribution = False
    for line in output.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        if in_distribution:
            if match := re.fullmatch(r"\s*([\d.]+)%\s+(\S+)\s*", line):
                result.percentiles_ms[match.group(1).removesuffix(".000")] = to_ms(match.group(2))
                continue
            in_distribution = False
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        result.non_2xx = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        kinds = ("connect", "read", "write", "timeout")
        result.socket_errors = dict(zip(kinds, map(int, match.groups()), strict=True))
    if "requests in" not in output:
        raise ValueError(f"could not read the wrk report:\n{output}")
    if not result.requests:
        result.percentiles_ms = {}  # wrk prints zeros: there is no latency to report
    return result


def run_wrk(
    url: str,
    script: str,
    *,
    threads: int,
    connections: int,
    duration_s: int,
    env: Mapping[str, str] | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    """`wrk --latency` with a Lua script from bench/wrk; raises if wrk itself fails."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(SCRIPTS / script),
        url,
    ]
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=duration_s + timeout_s + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse(completed.stdout)
