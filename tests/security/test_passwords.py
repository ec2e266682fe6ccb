"""Keys are stored as Mosquitto `$7$` hashes: ours verify, mosquitto_passwd's verify too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controller.security.passwords import (
    PasswordHashError,
    hash_password,
    new_key,
    verify_password,
)
from tests.conftest import require_tool


def test_a_hash_verifies_its_password_and_no_other() -> None:
    key = new_key()
    stored = hash_password(key)
    assert stored.startswith("$7$10000$")
    assert key not in stored
    assert verify_password(key, stored)
    assert not verify_password(key + "x", stored)
    assert hash_password(key) != stored  # a fresh salt each time


def test_a_hash_made_by_mosquitto_passwd_verifies(tmp_path: Path) -> None:
    tool = require_tool("mosquitto_passwd", "apt-get install -y mosquitto")
    password_file = tmp_path / "passwords"
    subprocess.run([tool, "-c", "-b", str(password_file), "alice", "s3cret-pass"], check=True)
    stored = password_file.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret-pass", stored)
    assert not verify_password("s3cret-pasS", stored)


def test_a_hash_in_another_format_is_refused_with_what_it_expects() -> None:
    with pytest.raises(PasswordHashError, match=r"\$7\$"):
        verify_password("x", "$6$salt$hash")
    with pytest.raises(ValueError, match="empty password"):
        hash_password("")
