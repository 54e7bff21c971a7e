"""The fault proxy itself: passes bytes, then refuses and resets, then passes again."""

import contextlib
import socket
import threading

import pytest

from tests.reliability.faultproxy import FaultProxy


@pytest.fixture
def echo_port():
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: _echo(c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _echo(conn):
    with conn, contextlib.suppress(OSError):  # the proxy resets it during an outage
        while data := conn.recv(1024):
            conn.sendall(data)


def roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload)
        return s.recv(1024)


def test_proxy_passes_traffic_then_refuses_and_resets_then_recovers(echo_port):
    with FaultProxy(echo_port) as proxy:
        assert roundtrip(proxy.port) == b"ping"
        live = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        live.sendall(b"a")
        assert live.recv(8) == b"a"

        proxy.outage()

        with pytest.raises(ConnectionRefusedError):
            roundtrip(proxy.port)
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            live.sendall(b"b")
            if not live.recv(8):  # some stacks report the reset as EOF first
                raise ConnectionResetError
        live.close()

        proxy.restore()

        assert roundtrip(proxy.port, b"again") == b"again"
