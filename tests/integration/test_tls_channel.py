"""The hot path's channel over TLS (`rediss://`): with no redis-py fallback, it is the only
way a TLS Redis is reached for a beat, a cached lookup or a count, so it is proven here
against a real redis-server serving TLS only."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis.exceptions import ConnectionError as RedisConnectionError

from server.hot import scripts
from server.hot.channel import Script, ScriptChannel

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signed for localhost (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "registry test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(paths[2], key)
    return paths


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A redis-server that speaks TLS only (its plain port is off): (port, CA file)."""
    directory = tmp_path_factory.mktemp("tls-redis")
    ca, cert, key = _certificates(directory)
    port = _free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port", "0",
            "--bind", "127.0.0.1",
            "--tls-port", str(port),
            "--tls-cert-file", str(cert),
            "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(ca),
            "--tls-auth-clients", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield port, ca
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
async def channel(tls_redis: tuple[int, Path]) -> AsyncIterator[ScriptChannel]:
    port, ca = tls_redis
    found = ScriptChannel.for_url(f"rediss://localhost:{port}/0?ssl_ca_certs={ca}")
    async with asyncio.timeout(30):  # the server may still be starting
        while True:
            try:
                await found.call("PING")
                break
            except RedisConnectionError:
                await asyncio.sleep(0.05)
    yield found
    found.close()


async def test_scripts_run_over_tls(channel: ScriptChannel) -> None:
    echo = Script("return {KEYS[1], ARGV[1]}")
    replies = await asyncio.gather(*(channel.run(echo, [f"k{i}"], [i]) for i in range(50)))
    assert replies == [[f"k{i}".encode(), str(i).encode()] for i in range(50)]


async def test_the_budget_count_runs_over_tls(channel: ScriptChannel) -> None:
    count = scripts.load("count")
    assert await channel.run(count, ["tls:budget"], [60]) == 1
    assert await channel.run(count, ["tls:budget"], [60]) == 2
    assert 0 < await channel.call("TTL", "tls:budget") <= 60


async def test_a_server_whose_certificate_is_not_trusted_is_refused(
    tls_redis: tuple[int, Path],
) -> None:
    port, _ = tls_redis
    untrusting = ScriptChannel.for_url(f"rediss://localhost:{port}/0")  # system CAs only
    with pytest.raises(RedisConnectionError):
        await untrusting.call("PING")
