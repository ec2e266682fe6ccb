"""`--broker` URLs: every accepted form, and clear words for the rest."""

from __future__ import annotations

import pytest

from tui.broker import BrokerAddress, BrokerUrlError, parse_broker_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://farm.example:1884", BrokerAddress("farm.example", 1884)),
        ("farm.example", BrokerAddress("farm.example", 1883)),
        ("localhost:1999", BrokerAddress("localhost", 1999)),
        (
            "mqtts://ada:s%40cret@farm.example",
            BrokerAddress("farm.example", 8883, "ada", "s@cret", tls=True),
        ),
    ],
)
def test_accepted_broker_urls(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://farm:80", "scheme 'http'"),
        ("mqtt://:1883", "names no host"),
        ("mqtt://farm:99999", "port"),
    ],
)
def test_refused_broker_urls_say_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(BrokerUrlError, match=words):
        parse_broker_url(url)
