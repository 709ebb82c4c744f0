"""The lean Redis connection: reply parsing however bytes are split, failure and timeouts,
the handshake on (re)connect, URLs read as redis-py reads them."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aigateway.adapters.redis.pipelined import PipelinedRedis, ReplyParser, encode_command
from tests.e2e.private_services import PrivateRedis
from tests.services import unique_name

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


# --- the handshake: AUTH and SELECT answered before any caller's command is sent -----------

PASSWORD = "pipelined-test-pass"  # a throw-away server's password


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(password=PASSWORD)
    server.start()
    yield server
    server.stop()


async def _burst(connection: PipelinedRedis, key: str) -> list[object]:
    """One INCR that has to (re)connect, and one more on every loop turn until it is answered:
    commands issued while the connection is being set up."""
    first = asyncio.ensure_future(connection.execute("INCR", key))
    others = []
    while not first.done():
        others.append(asyncio.ensure_future(connection.execute("INCR", key)))
        await asyncio.sleep(0)
    return await asyncio.gather(first, *others, return_exceptions=True)


def _loss_seen(connection: PipelinedRedis) -> asyncio.Event:
    """Set once the client has seen its current connection go (the next command reconnects)."""
    current = connection._connection
    assert current is not None
    seen = asyncio.Event()
    lost = current.connection_lost

    def connection_lost(exc: Exception | None) -> None:
        lost(exc)
        seen.set()

    current.connection_lost = connection_lost  # type: ignore[method-assign]
    return seen


async def _check_every_command_reaches_the_configured_database(server: PrivateRedis) -> None:
    key = unique_name("handshake")
    connection = PipelinedRedis(server.url_for(5))
    try:
        sent = await _burst(connection, key)  # the first connection
        loss = _loss_seen(connection)
        server.client(5).client_kill_filter(_type="normal", skipme=True)
        await asyncio.wait_for(loss.wait(), 5)
        sent += await _burst(connection, key)  # a reconnect
    finally:
        connection.close()
    assert all(isinstance(reply, int) for reply in sent), sent
    assert server.client(5).get(key) == str(len(sent)).encode()
    assert server.client(0).exists(key) == 0


@pytest.mark.redis
async def test_commands_during_a_reconnect_reach_the_configured_database(
    private_redis: PrivateRedis,
) -> None:
    await _check_every_command_reaches_the_configured_database(private_redis)


@pytest.mark.redis
def test_the_same_on_uvloop_which_serves_production(private_redis: PrivateRedis) -> None:
    uvloop.run(_check_every_command_reaches_the_configured_database(private_redis))


@pytest.mark.redis
async def test_a_wrong_password_fails_every_command(private_redis: PrivateRedis) -> None:
    url = private_redis.url_for(5).replace(PASSWORD, "wrong")
    connection = PipelinedRedis(url)
    try:
        for _ in range(2):
            with pytest.raises(ResponseError, match=r"WRONGPASS|invalid"):
                await connection.execute("INCR", "k")
    finally:
        connection.close()


class Recorder:
    """A fake server that records each command and answers +OK (or :1 to INCR)."""

    def __init__(self) -> None:
        self.commands: list[list[bytes]] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while header := await reader.readline():
            args = []
            for _ in range(int(header[1:])):
                size = int((await reader.readline())[1:])
                args.append((await reader.readexactly(size + 2))[:-2])
            self.commands.append(args)
            writer.write(b":1\r\n" if args[0] == b"INCR" else b"+OK\r\n")


async def test_a_unix_url_is_read_as_redis_py_reads_it(tmp_path: Path) -> None:
    recorder = Recorder()
    socket_path = tmp_path / "redis.sock"
    server = await asyncio.start_unix_server(recorder, str(socket_path))
    connection = PipelinedRedis(f"unix://gw:p%40ss@{socket_path}?db=3&client_name=aigw")
    try:
        assert await connection.execute("INCR", "k") == 1
    finally:
        connection.close()
        server.close()
    assert recorder.commands == [
        [b"AUTH", b"gw", b"p@ss"],
        [b"CLIENT", b"SETNAME", b"aigw"],
        [b"SELECT", b"3"],
        [b"INCR", b"k"],
    ]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_rediss_honours_its_tls_query_options(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    recorder = Recorder()
    server = await asyncio.start_server(recorder, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    trusted = PipelinedRedis(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")
    unverified = PipelinedRedis(f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none")
    default = PipelinedRedis(f"rediss://127.0.0.1:{port}/0")  # verifies against system CAs
    try:
        assert await trusted.execute("INCR", "k") == 1
        assert await unverified.execute("INCR", "k") == 1
        with pytest.raises(RedisConnectionError):
            await default.execute("INCR", "k")
    finally:
        for connection in (trusted, unverified, default):
            connection.close()
        server.close()


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="scheme"):
        PipelinedRedis("http://127.0.0.1:6379/0")


async def test_a_connect_whose_callers_all_gave_up_is_not_reused_later(tmp_path: Path) -> None:
    """Every caller cancelled while the handshake was under way: that finished attempt must not
    hand its connection (dead by then) to the callers of a later reconnect."""
    release, connected, set_up = asyncio.Event(), asyncio.Event(), asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        first = len(writers) == 1
        connected.set()
        while header := await reader.readline():
            args = []
            for _ in range(int(header[1:])):
                size = int((await reader.readline())[1:])
                args.append((await reader.readexactly(size + 2))[:-2])
            if first and args[0] == b"SELECT":
                await release.wait()  # the first handshake hangs until released
            writer.write(b":1\r\n" if args[0] == b"INCR" else b"+OK\r\n")
            if first and args[0] == b"SELECT":
                set_up.set()

    socket_path = tmp_path / "redis.sock"
    server = await asyncio.start_unix_server(serve, str(socket_path))
    connection = PipelinedRedis(f"unix://{socket_path}?db=2", timeout_s=5)
    try:
        waiter = asyncio.ensure_future(connection.execute("INCR", "k"))
        await asyncio.wait_for(connected.wait(), 5)
        waiter.cancel()  # the only caller gives up during the handshake
        release.set()
        await asyncio.wait_for(set_up.wait(), 5)  # set up, with nobody waiting
        await asyncio.sleep(0.1)  # the client reads the handshake's answer
        writers[0].close()  # and then the connection is lost
        await asyncio.sleep(0.1)  # the client sees it go
        assert await asyncio.wait_for(connection.execute("INCR", "k"), 5) == 1
        assert len(writers) == 2  # a new connection served it
    finally:
        connection.close()
        server.close()
