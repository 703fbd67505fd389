"""A webhook receiver for tests: an HTTP server on 127.0.0.1 (a free port) in a thread that keeps
every JSON message POSTed to it and answers with the statuses it is given, then 200."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Receiver", "closed_port", "webhook_receiver"]


@dataclass
class Receiver:
    url: str  # http://127.0.0.1:PORT/hook
    statuses: list[int] = field(default_factory=list)  # answers to the next POSTs, in order; then 200
    messages: list[dict] = field(default_factory=list)  # every body received, answered 2xx or not
    paths: list[str] = field(default_factory=list)


@contextmanager
def webhook_receiver(statuses: Sequence[int] = ()) -> Iterator[Receiver]:
    receiver = Receiver(url="", statuses=list(statuses))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                receiver.messages.append(json.loads(body))
                receiver.paths.append(self.path)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet: the test output is the messages
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
