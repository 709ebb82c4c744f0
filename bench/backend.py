"""Redis commands and SQL statements per request, from the servers' global counters.

PERFORMANCE.md asks for at most one Redis round trip per request on the happy path and no SQL
on the request path (the log writer batches). These counters are server-wide: anything else
using the same MariaDB or Redis during a run (a test suite, say) is counted too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pymysql
import redis

from targets import Services

_OWN_COMMANDS = {"info", "flushdb", "select", "hello", "client", "ping"}


@dataclass
class Counters:
    redis_calls: dict[str, int] = field(default_factory=dict)
    sql_statements: int | None = None


def snapshot(services: Services) -> Counters:
    counters = Counters()
    with contextlib.suppress(Exception):
        client = redis.Redis(host=services.redis_host, port=services.redis_port)
        with client:
            stats = client.info("commandstats")
        counters.redis_calls = {
            name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()
        }
    with contextlib.suppress(Exception):
        connection = pymysql.connect(
            host=services.mysql_host, port=services.mysql_port, user=services.mysql_user
        )
        with connection, connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            found = cursor.fetchone()
            counters.sql_statements = int(found[1]) if found else None
    return counters


def per_request(before: Counters, after: Counters, requests: int) -> dict[str, Any]:
    if not requests:
        return {}
    by_command = {
        name: (calls - before.redis_calls.get(name, 0)) / requests
        for name, calls in after.redis_calls.items()
        if name not in _OWN_COMMANDS and calls > before.redis_calls.get(name, 0)
    }
    sql = None
    if before.sql_statements is not None and after.sql_statements is not None:
        sql = (after.sql_statements - before.sql_statements - 1) / requests
    return {
        "redis_commands": sum(by_command.values()),
        "redis_by_command": dict(sorted(by_command.items(), key=lambda kv: -kv[1])),
        "sql_statements": sql,
    }


def describe(found: dict[str, Any]) -> str:
    if not found:
        return ""
    commands = ", ".join(f"{k} {v:.2f}" for k, v in list(found["redis_by_command"].items())[:4])
    sql = found["sql_statements"]
    return (
        f"Redis commands {found['redis_commands']:.2f}"
        + (f" ({commands})" if commands else "")
        + (f", SQL statements {sql:.3f}" if sql is not None else "")
    )
