"""The TLS listener: certificates made with the openssl CLI, a client that trusts the CA
logs in, a plaintext client is refused, and with client certificates required a client
without one is refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from controller.security.broker_config import BrokerOptions, Tls
from protocol import topics
from tests.conftest import require_tool
from tests.security.conftest import Client, Keys
from tests.support.mosquitto import Broker, free_port


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _signed(pki: Path, name: str, subject: str, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    key, csr, cert = pki / f"{name}.key", pki / f"{name}.csr", pki / f"{name}.crt"
    _openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        subject,
    )
    extensions = pki / f"{name}.ext"
    extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca[0]),
        "-CAkey",
        str(ca[1]),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        str(cert),
        "-extfile",
        str(extensions),
    )
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_tool("openssl", "apt-get install -y openssl")
    pki = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = pki / "ca.key", pki / "ca.crt"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_cert),
        "-days",
        "2",
        "-subj",
        "/CN=makerfarm test CA",
    )
    server = _signed(pki, "server", "/CN=localhost", (ca_cert, ca_key))
    client = _signed(pki, "client", "/CN=agent.p1", (ca_cert, ca_key))
    return {
        "ca": ca_cert,
        "server_cert": server[0],
        "server_key": server[1],
        "client_cert": client[0],
        "client_key": client[1],
    }


def _tls_broker(
    farm_db: tuple[Engine, Keys, str],
    start: Callable[..., Broker],
    pki: dict[str, Path],
    require_client_cert: bool,
) -> Broker:
    tls = Tls(pki["ca"], pki["server_cert"], pki["server_key"], free_port(), require_client_cert)
    return start(farm_db[0], BrokerOptions(port=None, bind="127.0.0.1", tls=tls))


def test_tls_works_and_a_plaintext_client_is_refused(
    farm_db: tuple[Engine, Keys, str],
    start_generated_broker: Callable[..., Broker],
    pki: dict[str, Path],
    clients: Callable[..., Client],
) -> None:
    broker = _tls_broker(farm_db, start_generated_broker, pki, require_client_cert=False)
    keys = farm_db[1]
    agent = clients(broker.port, "agent.p1", keys["agent.p1"], tls=(str(pki["ca"]), None, None))
    own = topics.printer_state_topic("site1", "p1")
    controller = clients(
        broker.port, "controller", keys["controller"], tls=(str(pki["ca"]), None, None)
    )
    controller.subscribe(own)
    agent.publish(own, b"over TLS")
    assert controller.next_message() == (own, b"over TLS")
    with pytest.raises((ConnectionRefusedError, TimeoutError, OSError)):
        clients(broker.port, "agent.p1", keys["agent.p1"])


def test_with_client_certificates_required_a_client_without_one_is_refused(
    farm_db: tuple[Engine, Keys, str],
    start_generated_broker: Callable[..., Broker],
    pki: dict[str, Path],
    clients: Callable[..., Client],
) -> None:
    broker = _tls_broker(farm_db, start_generated_broker, pki, require_client_cert=True)
    keys = farm_db[1]
    with_cert = (str(pki["ca"]), str(pki["client_cert"]), str(pki["client_key"]))
    assert clients(broker.port, "agent.p1", keys["agent.p1"], tls=with_cert).refused is None
    with pytest.raises((ConnectionRefusedError, TimeoutError, OSError)):
        clients(broker.port, "agent.p1", keys["agent.p1"], tls=(str(pki["ca"]), None, None))
    with pytest.raises((ConnectionRefusedError, TimeoutError)):
        clients(broker.port, "agent.p1", "wrong-key-entirely", tls=with_cert)
