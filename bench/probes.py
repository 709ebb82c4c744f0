"""What the bench asks the targets before and around the measurements: which routes G serves,
a first request of each kind, the request-log count, and the state of the machine and tree."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pymysql

import procs
from memory import PLAIN, STREAMED
from scenarios import ALL_ROUTES, MODELS, Scenario
from targets import Target

REPO = Path(__file__).resolve().parent.parent
ANTHROPIC_PROBE = (
    b'{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"Say hello."}]}'
)
UNSUPPORTED = 501  # what G answers for a provider kind it has no executor for


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def probe_anthropic(target: Target) -> tuple[bool, str]:
    headers = {"Content-Type": "application/json", "anthropic-version": "2023-06-01"}
    if target.api_key:
        headers["x-api-key"] = target.api_key
    try:
        response = httpx.post(
            target.base_url + "/v1/messages", content=ANTHROPIC_PROBE, headers=headers, timeout=30
        )
    except httpx.HTTPError as exc:
        return False, f"probe failed: {exc}"
    return response.is_success, f"probe answered {response.status_code}"


def probe_routes(target: Target, results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Which upstream kinds G serves: one small request per route and client format. A route
    whose provider could not be set up, or that G answers 501 (a provider kind this gateway
    version has no executor for), is skipped; other failures are measured (and flagged)."""
    routes: dict[str, dict[str, Any]] = {}
    for route in ALL_ROUTES:
        failed_setup = target.info.get(f"setup_failed:{route}")
        if failed_setup:
            routes[route] = {"supported": False, "detail": f"skipped: setup failed: {failed_setup}"}
            log(f"  [G] {route}: {routes[route]['detail']}")
            continue
        answers = []
        for fmt, path in (("openai", "/v1/chat/completions"), ("anthropic", "/v1/messages")):
            for stream in (False, True):
                body = Scenario(fmt, stream, 1).body_bytes(route)
                headers = {"Content-Type": "application/json", **target.headers}
                if fmt == "anthropic":
                    headers |= {"anthropic-version": "2023-06-01", "x-api-key": target.api_key}
                try:
                    answer = httpx.post(
                        target.base_url + path, content=body, headers=headers, timeout=30
                    )
                except httpx.HTTPError as exc:
                    answers.append((fmt, stream, f"{type(exc).__name__}: {exc}", ""))
                    continue
                answers.append((fmt, stream, answer.status_code, answer.text[:300]))
        if any(status == UNSUPPORTED for _, _, status, _ in answers):
            text = next(text for _, _, status, text in answers if status == UNSUPPORTED)
            detail = f"skipped: G answers 501 for provider kind `{route}` (not in this version)"
            routes[route] = {"supported": False, "detail": detail, "answer": text}
            log(f"  [G] {route}: {detail}: {text[:160]}")
            continue
        failed = [a for a in answers if a[2] != 200]
        routes[route] = {"supported": True, "detail": "ok", "failed_probes": failed}
        for fmt, stream, status, text in failed:
            kind = "stream" if stream else "non-stream"
            log(f"  [G] warning: {fmt} {kind} to {MODELS[route]} answered {status}: {text[:200]}")
    results["routes"] = routes
    return routes


def count_request_logs(database: str, where: str = "TRUE") -> int | None:
    try:
        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=database)
    except pymysql.MySQLError:
        return None
    with connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM request_logs WHERE {where}")
        found = cursor.fetchone()
    return int(found[0]) if found else None


def prime(target: Target) -> None:
    """One request of each kind before any timing (some servers import lazily on first use);
    a target that fails them is reported at once (its rows will be flagged too)."""
    headers = {"Content-Type": "application/json", **target.headers}
    for body in (PLAIN, STREAMED):
        try:
            url = target.base_url + "/v1/chat/completions"
            status: int | str = httpx.post(
                url, content=body, headers=headers, timeout=60
            ).status_code
        except httpx.HTTPError as exc:
            status = f"{type(exc).__name__}: {exc}"
        if status != 200:
            log(f"  [{target.name}] warning: a first request answered {status}")
            log("    " + target.server.log_tail(8).replace("\n", "\n    "))


def raise_nofile_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine_load(seconds: float) -> float:
    """Cores busy on average over `seconds`, before the bench starts anything."""
    before = procs.machine_busy_seconds()
    time.sleep(seconds)
    return (procs.machine_busy_seconds() - before) / seconds


def git_state() -> dict[str, Any]:
    """The commit measured, and which files outside bench/ differ from it (the gateway's code
    is what runs, edits included)."""

    def git(*argv: str) -> str:
        return subprocess.run(
            ["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
        ).stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line[3:]]
    outside = [path for path in changed if not path.startswith("bench/")]
    return {"commit": git("rev-parse", "HEAD").strip(), "changed_outside_bench": outside[:50]}
