"""Delivering a notification: retries with backoff against a receiver on 127.0.0.1, one warning
line when it cannot be delivered (the URL's secrets hidden), never an exception."""

from __future__ import annotations

from webhook_receiver import closed_port, webhook_receiver

from saber._webhook_url import check_url, redact
from saber.runs._webhook import deliver, post_json


def test_a_receiver_failing_twice_gets_the_message_on_the_third_try() -> None:
    waits: list[float] = []
    warnings: list[str] = []
    with webhook_receiver(statuses=[503, 429]) as receiver:
        delivered = deliver([(receiver.url, {"n": 1})], warn=warnings.append, sleep=waits.append)
    assert delivered == [receiver.url] and warnings == []
    assert receiver.messages == [{"n": 1}] * 3 and waits == [1.0, 2.0]


def test_a_receiver_that_always_fails_is_one_warning_and_no_exception() -> None:
    waits: list[float] = []
    warnings: list[str] = []
    with webhook_receiver(statuses=[500] * 5) as receiver:
        delivered = deliver([(receiver.url, {"n": 1})], warn=warnings.append, sleep=waits.append)
    assert delivered == [] and len(receiver.messages) == 3 and waits == [1.0, 2.0]
    assert warnings == [f"saber: warning: notification to {receiver.url} not delivered: HTTP 500 (3 tries)"]


def test_a_client_error_is_not_tried_again() -> None:
    with webhook_receiver(statuses=[404]) as receiver:
        assert post_json(receiver.url, {}, sleep=lambda s: None) == "HTTP 404"
    assert len(receiver.messages) == 1


def test_an_unreachable_url_warns_once_and_the_next_url_still_gets_its_message() -> None:
    warnings: list[str] = []
    dead = f"http://127.0.0.1:{closed_port()}/hook"
    with webhook_receiver() as receiver:
        delivered = deliver([(dead, {"n": 1}), (receiver.url, {"n": 2})], warn=warnings.append,
                            sleep=lambda s: None)
    assert delivered == [receiver.url] and receiver.messages == [{"n": 2}]
    assert warnings == [f"saber: warning: notification to {dead} not delivered: cannot connect (3 tries)"]


def test_the_warning_hides_credentials_query_and_tokens() -> None:
    port = closed_port()
    warnings: list[str] = []
    url = f"http://user:s3cret@127.0.0.1:{port}/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX?token=abc"
    deliver([(url, {})], warn=warnings.append, sleep=lambda s: None)
    [line] = warnings
    assert f"http://***@127.0.0.1:{port}/services/T0/B0/***?***" in line
    assert "s3cret" not in line and "user" not in line and "abc" not in line and "XXXX" not in line


def test_redact_keeps_what_names_the_receiver() -> None:
    assert redact("https://example.com/hook") == "https://example.com/hook"
    assert redact("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX") == \
        "https://hooks.slack.com/services/T00000000/B00000000/***"
    assert redact("http://[::1]:9000/x") == "http://[::1]:9000/x"
    assert redact("http://host:port/x") == "(an unreadable URL)"


def test_check_url() -> None:
    assert check_url("https://example.com/hook") is None
    assert check_url("example.com/hook") == "must be an http(s) URL like https://host/path"
    assert check_url("ftp://example.com/hook") == "must be an http(s) URL, got scheme 'ftp'"
    assert check_url("http://host:port/x") == check_url("http://[::1/x") == \
        "must be an http(s) URL with a valid host and port"


def test_a_ctrl_c_while_sending_gives_up_on_the_rest_with_a_warning_each(monkeypatch) -> None:
    import saber.runs._webhook as webhook

    def interrupted(url, body, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(webhook, "post_json", interrupted)
    warnings: list[str] = []
    assert deliver([("http://a.example/x", {}), ("http://b.example/y?k=v", {})], warn=warnings.append) == []
    assert warnings == ["saber: warning: notification to http://a.example/x not sent: interrupted",
                        "saber: warning: notification to http://b.example/y?*** not sent: interrupted"]
