"""The SSE parser: line endings, multi-line data, comments, event names, [DONE]."""

from __future__ import annotations

import pytest

from aigateway.adapters.codecs.sse import SSEEvent, SSEParser, frame


def parse(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.finish()


def test_data_lines_and_event_names() -> None:
    events = parse(b'event: message_start\ndata: {"a":1}\n\ndata: [DONE]\n\n')
    assert events == [SSEEvent(b'{"a":1}', "message_start"), SSEEvent(b"[DONE]")]
    assert events[1].is_done and not events[0].is_done


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    body = newline.join([b"event: x", b"data: 1", b"", b"data: 2", b"", b""])
    assert parse(body) == [SSEEvent(b"1", "x"), SSEEvent(b"2")]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    assert parse(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n") == [SSEEvent(b"1"), SSEEvent(b"2")]


def test_an_empty_chunk_between_cr_and_lf_changes_nothing() -> None:
    # found by Hypothesis: the empty chunk used to forget the pending CR
    assert parse(b"data: 1\r", b"", b"\ndata: 2\r\n\r\n") == [SSEEvent(b"1\n2")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse(b"data: first\ndata:second\ndata\n\n") == [SSEEvent(b"first\nsecond\n")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    body = b": keep-alive\n\nretry: 100\nfoo: bar\ndata: x\n: mid-event comment\n\n"
    assert parse(body) == [SSEEvent(b"x")]


def test_event_name_applies_to_one_event_and_id_persists() -> None:
    events = parse(b"event: a\nid: 7\ndata: 1\n\ndata: 2\n\n")
    assert events == [SSEEvent(b"1", "a", "7"), SSEEvent(b"2", "", "7")]


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert parse(b"data:  two spaces\n\n") == [SSEEvent(b" two spaces")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert parse(b"event: ping\n\n") == []


def test_byte_order_mark_is_skipped_even_when_split() -> None:
    assert parse(b"\xef\xbb", b"\xbfdata: 1\n\n") == [SSEEvent(b"1")]


def test_an_unterminated_last_event_is_dispatched_at_the_end() -> None:
    assert parse(b"data: 1\n\ndata: [DONE]") == [SSEEvent(b"1"), SSEEvent(b"[DONE]")]


def test_bytes_split_anywhere_give_the_same_events() -> None:
    body = b'event: e\r\ndata: {"x": "\xc3\xa9"}\r\n\r\n: c\r\ndata: a\r\ndata: b\r\n\r\n'
    whole = parse(body)
    for cut in range(len(body) + 1):
        assert parse(body[:cut], body[cut:]) == whole
    assert parse(*[body[i : i + 1] for i in range(len(body))]) == whole


def test_frame() -> None:
    assert frame(b"{}") == b"data: {}\n\n"
    assert frame(b"{}", "error") == b"event: error\ndata: {}\n\n"
