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
from scenarios import (
    ALL_ROUTES,
    MODELS,
    NEW_FORMATS,
    PATHS,
    RESPONSES,
    SCENARIOS,
    Scenario,
    client_headers,
)
from targets import Target

REPO = Path(__file__).resolve().parent.parent
UNSUPPORTED = 501  # what G answers for a provider kind it has no executor for
PROBED_FORMATS = ("anthropic", *NEW_FORMATS)  # OpenAI Chat is there: prime() checks it


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _post(target: Target, fmt: str, route: str, stream: bool) -> tuple[int | str, str]:
    """A small request in `fmt` to `route`: (status or the error, the answer's start)."""
    scenario = Scenario(fmt, stream, 1)
    try:
        answer = httpx.post(
            target.base_url + scenario.path(route),
            content=scenario.body_bytes(route),
            headers=client_headers(fmt, target.api_key),
            timeout=30,
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}", ""
    return answer.status_code, answer.text[:300]


def probe_formats(target: Target) -> dict[str, dict[str, Any]]:
    """Which client formats G serves beyond OpenAI Chat: a small request to each format's
    endpoint (to the openai route); a 404 or 405 means this version has no such endpoint."""
    formats = {}
    for fmt in PROBED_FORMATS:
        status, _ = _post(target, fmt, "openai", False)
        supported = isinstance(status, int) and status not in (404, 405)
        detail = f"probe answered {status}"
        if not supported:
            endpoint = PATHS[fmt].format(model="{model}", method="generateContent")
            detail = f"n/a (gateway has no {endpoint} yet: {detail})"
        formats[fmt] = {"supported": supported, "detail": detail}
        log(f"  [G] {fmt} client: {detail}")
    return formats


def _upstream_calls(target: Target, path: str) -> int:
    return int(httpx.get(target.upstream_url + "/counts", timeout=10).json().get(path, 0))


def probe_routes(target: Target, results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Which routes G serves: one small request per route and client format measured on it. A
    route whose provider could not be set up, that G answers 501 (a provider kind this gateway
    version has no executor for), or, for `openai-responses`, whose upstream's `/v1/responses`
    G never called, is skipped; other failures are measured (and flagged)."""
    formats = results["formats"]
    routes: dict[str, dict[str, Any]] = {}
    for route in ALL_ROUTES:
        failed_setup = target.info.get(f"setup_failed:{route}")
        used = {s.fmt for s in SCENARIOS if route in s.routes} | {"openai", "anthropic"}
        served = [f for f in ("openai", *PROBED_FORMATS) if f in used]
        served = [f for f in served if f == "openai" or formats[f]["supported"]]
        if failed_setup:
            routes[route] = {"supported": False, "detail": f"skipped: setup failed: {failed_setup}"}
            log(f"  [G] {route}: {routes[route]['detail']}")
            continue
        if route == RESPONSES and "responses" not in served:
            routes[route] = {"supported": False, "detail": formats["responses"]["detail"]}
            continue
        before = _upstream_calls(target, "/v1/responses") if route == RESPONSES else 0
        answers = [
            (fmt, stream, *_post(target, fmt, route, stream))
            for fmt in served
            for stream in (False, True)
            if route != RESPONSES or fmt == "responses"
        ]
        if any(status == UNSUPPORTED for _, _, status, _ in answers):
            text = next(text for _, _, status, text in answers if status == UNSUPPORTED)
            detail = f"skipped: G answers 501 for provider kind `{route}` (not in this version)"
            routes[route] = {"supported": False, "detail": detail, "answer": text}
            log(f"  [G] {route}: {detail}: {text[:160]}")
            continue
        if route == RESPONSES and _upstream_calls(target, "/v1/responses") == before:
            detail = "skipped: G never called the upstream's /v1/responses (no config.wire_api)"
            routes[route] = {"supported": False, "detail": detail}
            log(f"  [G] {route}: {detail}")
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
