"""The session-wide guard of tests/conftest.py: no test can reach the network."""

import socket

import pytest


def test_remote_connections_are_refused():
    with pytest.raises(RuntimeError, match="must never download"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1: no real host


def test_loopback_stays_open():
    server = socket.create_server(("127.0.0.1", 0))
    try:
        client = socket.create_connection(server.getsockname(), timeout=1)
        client.close()
    finally:
        server.close()
