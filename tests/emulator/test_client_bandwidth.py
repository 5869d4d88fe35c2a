"""The per-client bandwidth cap: one bucket per source address, shared by its connections."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from labelsync.cli.emulator import emulator
from labelsync.emulator.bandwidth import BURST_SECONDS, TokenBucket, parse_rate
from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import API_PREFIX, create_app
from tests.emulator.conftest import TENSORBAY_TOKEN, TensorbayDriver

RATE = 4_000_000  # bytes/s
SIZE = 2_000_000  # one upload: half a second at RATE


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10MB/s", 10e6), ("512KiB/s", 512 * 1024), ("1.5 GB", 1.5e9), ("250000", 250000.0), ("2mib/s", 2 * 1024**2)],
)
def test_parse_rate_reads_decimal_and_binary_units(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "10 MB/min", "0MB/s", "-1MB/s", "10XB/s"])
def test_parse_rate_refuses_what_is_not_a_rate(text: str) -> None:
    with pytest.raises(ValueError, match="not a bandwidth: write e.g. 10MB/s"):
        parse_rate(text)


def test_token_bucket_allows_a_burst_then_paces_at_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(1000.0, 100.0, clock=lambda: now[0])
    assert bucket.delay(100) == 0.0  # starts full
    assert bucket.delay(100) == pytest.approx(0.1)  # then one tenth of a second per 100 bytes
    assert bucket.delay(100) == pytest.approx(0.2)
    now[0] += 10.0  # idle: the bucket refills, to its burst only
    assert bucket.delay(100) == 0.0
    assert bucket.delay(100) == pytest.approx(0.1)


def _client(driver: TensorbayDriver, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=str(driver.api.base_url),
        headers={"X-Token": TENSORBAY_TOKEN},
        timeout=30,
        transport=httpx.HTTPTransport(local_address=address),
    )


def _uploads(server: EmbeddedServer, addresses: list[str]) -> float:
    """Seconds to upload one SIZE-byte object from each address at once (its own connection each)."""
    with httpx.Client(base_url=f"{server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}, timeout=30) as api:
        driver = TensorbayDriver(api)
        dataset = driver.dataset(f"ds{len(addresses)}-{addresses[-1]}")
        draft = driver.draft(dataset)
        driver.segment(dataset, draft)
        policy = driver.policy(dataset, draft)
        clients = [_client(driver, address) for address in addresses]
        bodies = [os.urandom(SIZE) for _ in addresses]
        try:
            start = time.monotonic()
            with ThreadPoolExecutor(len(addresses)) as pool:
                answers = list(pool.map(lambda pair: driver.put_object(policy, pair[1], pair[0]), zip(clients, bodies, strict=True)))
            elapsed = time.monotonic() - start
        finally:
            for client in clients:
                client.close()
    assert [a.status_code for a in answers] == [200] * len(addresses), [a.text for a in answers]
    return elapsed


def test_connections_from_one_address_share_its_cap_other_addresses_get_their_own(tmp_path: Path) -> None:
    app = create_app(tmp_path, tokens=[TENSORBAY_TOKEN], faults=FaultConfig(client_bandwidth=RATE))
    assert app.bandwidth is not None  # type: ignore[attr-defined]
    floor = (SIZE - RATE * BURST_SECONDS) / RATE
    with EmbeddedServer(app) as server:
        alone = _uploads(server, ["127.0.0.2"])
        same = _uploads(server, ["127.0.0.3", "127.0.0.3"])
        apart = _uploads(server, ["127.0.0.4", "127.0.0.5"])
    assert alone >= floor
    assert same >= 2 * floor  # two connections, one uplink
    assert apart >= floor
    assert apart < 2 * floor * 0.9  # two uplinks in parallel
    received = app.bandwidth.received  # type: ignore[attr-defined]
    assert received["127.0.0.3"] >= 2 * SIZE and received["127.0.0.4"] >= SIZE and received["127.0.0.5"] >= SIZE


def test_no_cap_installs_no_middleware(tmp_path: Path) -> None:
    assert create_app(tmp_path, tokens=[TENSORBAY_TOKEN]).bandwidth is None  # type: ignore[attr-defined]


def test_deepen_emulator_takes_the_cap_too(tmp_path: Path) -> None:
    from labelsync.emulator.deepen import create_app as deepen_app

    app = deepen_app(tmp_path, tokens=["t"], faults=FaultConfig(client_bandwidth=RATE))
    try:
        assert app.bandwidth is not None and app.bandwidth.rate == RATE
    finally:
        app.close()


def test_cli_option_is_listed_and_bad_values_get_one_line() -> None:
    runner = CliRunner()
    assert "--client-bandwidth" in runner.invoke(emulator, ["tensorbay", "--help"]).output
    result = runner.invoke(emulator, ["tensorbay", "--client-bandwidth", "fast"])
    assert result.exit_code == 2
    assert "'fast' is not a bandwidth: write e.g. 10MB/s" in result.output
    assert "Traceback" not in result.output
