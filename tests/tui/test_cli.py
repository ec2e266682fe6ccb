"""`makerfarm tui`: its options, and clear words for values it cannot use."""

from __future__ import annotations

import pytest

from makerfarm_cli import main


def test_help_lists_site_broker_and_user(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["tui", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--site ID", "--broker URL", "--user NAME", "mqtt://localhost:1883"):
        assert option in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--broker", "http://farm:80"], "use mqtt://host:port or mqtts://host:port"),
        (["--site", "Fab Lab"], "site id 'Fab Lab' is not valid"),
        (["--user", ""], "--user must be 1-64 printable characters"),
    ],
)
def test_unusable_options_are_refused_before_the_screen_opens(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tui", *args]) == 2
    assert words in capsys.readouterr().err
