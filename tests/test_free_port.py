"""tests/helpers.py free_port: master ports for parallel test runs stay out of the kernel's ephemeral range."""

from __future__ import annotations

import socket
from pathlib import Path

from tests import helpers


def ephemeral_range() -> tuple[int, int]:
    text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(text[0]), int(text[1])


def test_ports_are_outside_the_ephemeral_range_and_per_worker(monkeypatch):
    low, high = ephemeral_range()
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    first = [helpers.free_port() for _ in range(20)]
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw2")
    second = [helpers.free_port() for _ in range(20)]
    assert len(set(first)) == len(set(second)) == 20
    assert not set(first) & set(second)
    assert all(not low <= port <= high for port in first + second)


def test_a_port_someone_listens_on_is_skipped(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    counter = helpers._port_counter[0]
    taken = helpers.free_port()
    helpers._port_counter[0] = counter  # the next call would hand out `taken` again
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", taken))
        listener.listen()
        assert helpers.free_port() != taken
