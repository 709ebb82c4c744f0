"""The lean Redis connection: reply parsing however bytes are split, failure and timeouts."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aigateway.adapters.redis.pipelined import PipelinedRedis, ReplyParser, encode_command

STREAM = b":42\r\n$5\r\nhello\r\n$-1\r\n*3\r\n:1\r\n$0\r\n\r\n*1\r\n+OK\r\n-ERR wrong\r\n*-1\r\n"


def test_encode_command() -> None:
    assert (
        encode_command("INCR", "account:rr:p:m") == b"*2\r\n$4\r\nINCR\r\n$14\r\naccount:rr:p:m\r\n"
    )


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=10))
def test_replies_parse_the_same_however_split(cuts: list[int]) -> None:
    parser = ReplyParser()
    replies = []
    points = [0, *sorted(cuts), len(STREAM)]
    for start, end in itertools.pairwise(points):
        replies += parser.feed(STREAM[start:end])
    assert replies[:4] == [42, b"hello", None, [1, b"", [b"OK"]]]
    assert isinstance(replies[4], ResponseError)
    assert replies[5] is None
    assert len(replies) == 6


async def serve(handler: object) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[1]


async def test_a_closed_port_is_a_connection_error() -> None:
    connection = PipelinedRedis("redis://127.0.0.1:1/0")
    with pytest.raises(RedisConnectionError):
        await connection.execute("INCR", "k")


async def test_a_silent_server_times_out_and_fails_every_waiter() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server, port = await serve(silent)
    connection = PipelinedRedis(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
    results = await asyncio.gather(
        *(connection.execute("INCR", "k") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RedisTimeoutError) for r in results)
    connection.close()
    server.close()


async def test_replies_are_matched_to_commands_in_order() -> None:
    async def counter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        while await reader.readline():
            for _ in range(4):  # *2, $4, INCR, $len
                await reader.readline()
            n += 1
            writer.write(b":%d\r\n" % n)

    server, port = await serve(counter)
    connection = PipelinedRedis(f"redis://127.0.0.1:{port}/0")
    results = await asyncio.gather(*(connection.execute("INCR", "k") for _ in range(50)))
    assert results == list(range(1, 51))
    connection.close()
    server.close()
