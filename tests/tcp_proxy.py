"""A TCP proxy on loopback that a test can cut, stall and restore: a real network fault between
the app and a server (the shared MariaDB, the model mock) without touching the server itself.

- `cut()`: every open connection is closed and new ones are refused (the server "stops").
- `stall()`: bytes stop flowing both ways; connections stay open (the server "hangs").
- `restore()`: stalled connections are closed (so the server rolls their transactions back)
  and new connections go through again (the server "comes back").
- `when_sent(pattern, "cut" | "stall")`: do that the moment the client sends bytes containing
  `pattern` (e.g. b"INSERT INTO messages"), before they reach the server.
- `drop_after_received(n)`: the client gets `n` more bytes of what the server sends, then that
  one connection closes (mid-response, e.g. mid-stream), however the server's writes happen to
  be bundled; new connections go through as before.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class _Pair:
    client: socket.socket
    upstream: socket.socket | None
    stalled: bool = False
    closed: bool = False

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.upstream):
            if sock is None:
                continue
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class TcpProxy:
    upstream: tuple[str, int]
    port: int = 0
    state: str = "open"  # open | down | stalled
    triggers: list[tuple[bytes, str]] = field(default_factory=list)
    fired: list[bytes] = field(default_factory=list)
    _pairs: list[_Pair] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _stopping: bool = False
    _drop_after: int | None = None
    dropped: int = 0  # connections closed by drop_after_received

    # --- control ---------------------------------------------------------------------------

    def cut(self) -> None:
        with self._lock:
            self.state = "down"
            pairs, self._pairs = self._pairs, []
            self._close_listener()
        for pair in pairs:
            pair.close()

    def stall(self) -> None:
        with self._lock:
            self.state = "stalled"
            for pair in self._pairs:
                pair.stalled = True

    def restore(self) -> None:
        with self._lock:
            stalled = [p for p in self._pairs if p.stalled]
            self._pairs = [p for p in self._pairs if not p.stalled]
            self.state = "open"
            self.triggers.clear()
            if self._listener is None:
                self._listen()
        for pair in stalled:
            pair.close()

    def drop_after_received(self, n_bytes: int | None) -> None:
        """None disarms it."""
        with self._lock:
            self._drop_after = n_bytes

    def _bytes_before_drop(self, n_bytes: int) -> int | None:
        """Of `n_bytes` just received from the server, how many reach the client before its
        connection is dropped; None: all of them, and it stays open. (Cutting inside a read makes
        the cut land where the test asked even when a loaded server sends its whole answer in
        one piece.)"""
        with self._lock:
            if self._drop_after is None or n_bytes < self._drop_after:
                if self._drop_after is not None:
                    self._drop_after -= n_bytes
                return None
            keep, self._drop_after = self._drop_after, None
            self.dropped += 1
            return keep

    def when_sent(self, pattern: bytes, action: str) -> None:
        assert action in {"cut", "stall"}
        with self._lock:
            self.triggers.append((pattern, action))

    # --- machinery -------------------------------------------------------------------------

    def start(self) -> None:
        self._listen()

    def stop(self) -> None:
        self._stopping = True
        self.cut()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed
            with self._lock:
                state = self.state
            if state == "down":
                client.close()
                continue
            pair = _Pair(client, None, stalled=state == "stalled")
            if not pair.stalled:
                try:
                    pair.upstream = socket.create_connection(self.upstream, timeout=5)
                except OSError:
                    client.close()
                    continue
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _action_for(self, data: bytes) -> str | None:
        with self._lock:
            for pattern, action in self.triggers:
                if pattern in data:
                    self.triggers.remove((pattern, action))
                    self.fired.append(pattern)
                    return action
        return None

    def _pump(self, pair: _Pair) -> None:
        selector = selectors.DefaultSelector()
        selector.register(pair.client, selectors.EVENT_READ, "client")
        if pair.upstream is not None:
            selector.register(pair.upstream, selectors.EVENT_READ, "upstream")
        try:
            while not pair.closed:
                for key, _ in selector.select(timeout=0.1):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        # Either side hung up: hang up the other, so the server ends the
                        # session and rolls back whatever it had open.
                        pair.close()
                        return
                    if pair.stalled:
                        continue  # swallowed: nothing moves while the server "hangs"
                    if key.data == "client":
                        action = self._action_for(data)
                        if action == "cut":
                            self.cut()
                            return
                        if action == "stall":
                            self.stall()
                            continue
                        if pair.upstream is not None:
                            pair.upstream.sendall(data)
                    else:
                        keep = self._bytes_before_drop(len(data))
                        pair.client.sendall(data if keep is None else data[:keep])
                        if keep is not None:
                            pair.close()
                            return
        except OSError:
            pair.close()
        finally:
            selector.close()


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy((host, port))
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
