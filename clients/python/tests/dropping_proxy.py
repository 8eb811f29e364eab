"""A TCP proxy on loopback that cuts connections: the network failure a resuming stream must survive.

Each connection is forwarded both ways; once the server has sent more than `cut_after` bytes down a connection, the
proxy closes it abruptly (both sides), `cuts` times in all. Later connections pass untouched."""

import contextlib
import socket
import threading
import time
from types import TracebackType


class DroppingProxy:
    def __init__(self, target_port: int, *, cut_after: int, cuts: int) -> None:
        self.target_port, self.cut_after, self.cuts_left = target_port, cut_after, cuts
        self.cuts_done = 0
        self.cut_times: list[float] = []
        """When each cut happened (`time.time()`)."""
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> "DroppingProxy":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(downstream, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        sent = 0
        try:
            while data := source.recv(4096):
                if from_server and sent + len(data) > self.cut_after and self._take_cut():
                    sink.sendall(data[: max(self.cut_after - sent, 0)])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def _take_cut(self) -> bool:
        with self._lock:
            if self.cuts_left <= 0:
                return False
            self.cuts_left -= 1
            self.cuts_done += 1
            self.cut_times.append(time.time())
            return True
