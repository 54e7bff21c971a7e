"""A TCP fault proxy for outage tests (RELIABILITY A5, A6): loopback only, threads only.

    with FaultProxy(upstream_port) as proxy:     # listens on 127.0.0.1:proxy.port
        proxy.outage()                           # reset every connection, refuse new ones
        proxy.restore()                          # accept again on the same port

An outage closes the listener (a new connect gets "connection refused", as from a stopped
server) and resets every live connection with an RST (SO_LINGER 0), which is what clients
see when a server or a NAT drops them. It owns nothing else: no latency or partial-write
faults, and it never connects anywhere but 127.0.0.1."""

import contextlib
import socket
import struct
import threading

LOOPBACK = "127.0.0.1"


def _reset(sock: socket.socket) -> None:
    """Abort the connection with an RST. SHUT_RD first: it wakes the pump thread blocked in
    recv() (on Linux a close() alone leaves the socket alive while that call holds it) and
    sends nothing, so the peer sees the reset, not a graceful end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    def __init__(self, upstream_port: int, port: int = 0):
        self.upstream = (LOOPBACK, upstream_port)
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener: socket.socket | None = None
        self.port = port
        self.accepted = 0
        self._listen()

    # --- control ---------------------------------------------------------------------

    def outage(self) -> None:
        """Refuse new connections and reset the live ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            # shutdown() first: a thread blocked in accept() keeps a closed listener
            # listening on Linux; shutdown wakes it and stops the listening at once.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for a, b in pairs:
            _reset(a)
            _reset(b)

    def restore(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    def close(self) -> None:
        self.outage()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- plumbing ----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by outage()/close()
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                if self._listener is not listener:  # an outage began meanwhile
                    _reset(client)
                    _reset(upstream)
                    return
                self._pairs.add(pair)
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                live = pair in self._pairs
                self._pairs.discard(pair)
            if live:  # a normal close from one side: close both, gracefully
                for sock in pair:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    with contextlib.suppress(OSError):
                        sock.close()
