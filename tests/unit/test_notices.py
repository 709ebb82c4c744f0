from datetime import UTC, datetime, timedelta

from aigateway.application.use_cases.notices import MAX_NOTICES, OperatorNotices

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_notice_noted_again_keeps_its_start_and_moves_its_last_sighting() -> None:
    notices = OperatorNotices()
    notices.note("oauth:google", "set google_oauth.client_id", T0)
    notices.note("oauth:google", "set google_oauth.client_id", T0 + timedelta(minutes=5))
    (notice,) = notices.current()
    assert (notice.since, notice.last_seen) == (T0, T0 + timedelta(minutes=5))
    notices.clear("oauth:google")
    assert notices.current() == []


def test_notices_are_capped_oldest_topic_first() -> None:
    notices = OperatorNotices()
    for n in range(MAX_NOTICES + 5):
        notices.note(f"topic-{n}", "fix it", T0)
    topics = [n.topic for n in notices.current()]
    assert len(topics) == MAX_NOTICES and topics[0] == "topic-5"
