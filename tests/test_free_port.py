"""The tests' free port: outside the range the kernel takes outgoing connections' local
ports from, so a server restarted on its port (the kill tests) finds it free."""

from __future__ import annotations

import socket

import pytest

from tests.serving import LOWEST, ephemeral_range, free_port


def test_a_free_port_is_outside_the_ephemeral_range_and_can_be_bound() -> None:
    low, high = ephemeral_range()
    if low <= LOWEST and high >= 65535:
        pytest.skip(f"this kernel's ephemeral range {low}-{high} leaves no port outside it")
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        for _ in range(20):
            port = free_port(kind)
            assert not low <= port <= high, f"{port} is in the ephemeral range {low}-{high}"
            assert port >= LOWEST
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", port))


def test_a_port_held_by_a_listener_is_not_handed_out() -> None:
    held: list[socket.socket] = []
    try:
        for _ in range(30):
            s = socket.socket()
            s.bind(("127.0.0.1", free_port()))
            s.listen()
            held.append(s)
        taken = {s.getsockname()[1] for s in held}
        assert len(taken) == len(held)
        for _ in range(30):
            assert free_port() not in taken
    finally:
        for s in held:
            s.close()
