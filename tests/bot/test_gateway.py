"""Gateway helpers: reading our message's parse data from a Rasa tracker, and the message formats."""

from __future__ import annotations

from bot.gateway import Outgoing, PageInfo, find_parse_data

# The shape of GET /conversations/{id}/tracker in Rasa 3.6 (trimmed).
TRACKER = {
    "sender_id": "s" * 32,
    "events": [
        {"event": "action", "name": "action_session_start"},
        {"event": "user", "text": "Hallo", "metadata": {"krisenlotse_message_id": "m1"},
         "parse_data": {"intent": {"name": "greet", "confidence": 0.99},
                        "intent_ranking": [{"name": "greet", "confidence": 0.99}]}},
        {"event": "bot", "text": "Guten Tag!"},
        {"event": "user", "text": "Kurzarbeit?", "metadata": {"krisenlotse_message_id": "m2", "page_url": "x"},
         "parse_data": {"intent": {"name": "short_time_work_eligibility", "confidence": 0.87},
                        "intent_ranking": [{"name": "short_time_work_eligibility", "confidence": 0.87},
                                           {"name": "short_time_work_application", "confidence": 0.08},
                                           {"name": "short_time_work_allowance", "confidence": 0.03},
                                           {"name": "greet", "confidence": 0.02}]}},
        {"event": "user", "text": "ohne Kennung", "parse_data": {"intent": {"name": "x", "confidence": 1}}},
    ],
}


def test_finds_our_message_by_its_id() -> None:
    intent, confidence, ranking = find_parse_data(TRACKER, "m2")
    assert (intent, confidence) == ("short_time_work_eligibility", 0.87)
    assert [r["name"] for r in ranking] == ["short_time_work_eligibility", "short_time_work_application",
                                            "short_time_work_allowance"]
    assert find_parse_data(TRACKER, "m1")[0] == "greet"


def test_unknown_id_or_broken_tracker_gives_none() -> None:
    assert find_parse_data(TRACKER, "m3") is None
    for broken in (None, [], {"events": None}, {"events": ["x", {"event": "user", "metadata": "x"}]}):
        assert find_parse_data(broken, "m1") is None


def test_missing_parse_data_gives_empty_values() -> None:
    tracker = {"events": [{"event": "user", "metadata": {"krisenlotse_message_id": "m"}}]}
    assert find_parse_data(tracker, "m") == (None, None, [])


def test_rasa_message_to_socketio_and_rest_formats() -> None:
    out = Outgoing.from_rasa({"recipient_id": "s", "text": "Wählen Sie:",
                              "buttons": [{"title": "Kurzarbeit", "payload": "/short_time_work_eligibility"}]})
    socket = out.socket()
    assert socket["quick_replies"] == [{"content_type": "text", "title": "Kurzarbeit",
                                        "payload": "/short_time_work_eligibility"}]
    assert socket["message_id"] == out.id and socket["timestamp"].endswith("Z")
    rest = out.rest("s" * 32)
    assert rest["buttons"][0]["payload"] == "/short_time_work_eligibility"
    assert rest["recipient_id"] == "s" * 32 and "error" not in rest
    card = Outgoing.from_rasa({"custom": {"type": "contact_card", "unit": {"id": "tax_office"}}})
    assert card.socket()["custom"]["unit"]["id"] == "tax_office"
    image = Outgoing.from_rasa({"image": "https://x.example/a.png"})
    assert image.socket()["attachment"] == {"type": "image", "payload": {"src": "https://x.example/a.png"}}


def test_empty_or_malformed_rasa_messages_are_dropped() -> None:
    for raw in ({}, {"text": ""}, {"text": None, "buttons": []}, "text", None, {"custom": "x"}):
        assert Outgoing.from_rasa(raw) is None


def test_page_info_is_bounded_and_consent_must_be_true() -> None:
    page = PageInfo.from_metadata({"page_url": "https://x.example/" + "a" * 5000, "page_language": "de-DE",
                                   "consent": "true"})
    assert len(page.page_url) == 2048 and page.page_language == "de-DE" and page.consent is False
    assert PageInfo.from_metadata({"consent": True}).consent is True
    assert PageInfo.from_metadata(["x"]) == PageInfo()


def test_message_ids_are_ordered_and_unique() -> None:
    from bot.models import new_id

    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 32 and i[12] == "7" for i in ids)  # UUIDv7 layout
