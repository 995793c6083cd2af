"""The sandbox server's HTTP: moto's WSGI application, connections kept alive.

werkzeug's development server (what moto serves with) ends every connection after one response
("Connection: close", whatever the protocol version), then waits up to 10 ms for stray request
bytes: each call of a client pays a new TCP connection, and the server a new thread. A run of
thousands of tables makes tens of thousands of calls, so here a connection serves request after
request for as long as the client keeps it (HTTP/1.1 keep-alive, as AWS's endpoints do).

A response is sent whole with its Content-Length, which is what lets the next request follow on
the same connection. A request whose body is not delimited by a Content-Length (chunked) is
left to werkzeug's own handling, which closes the connection after it.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, make_server

_werkzeug_log = logging.getLogger("werkzeug")

#: Responses that never carry a body, whatever their headers say (RFC 9110).
_BODILESS = frozenset({204, 304})


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, answering on one connection until the client closes it."""

    protocol_version = "HTTP/1.1"
    #: The body that goes out in the same write as the headers (see :meth:`flush_headers`).
    _body = b""

    def setup(self) -> None:
        super().setup()
        # Without it a response written in two parts waits for the client's delayed ACK of the
        # first (tens of milliseconds) once the connection is reused.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        """Serve one request; the connection stays open unless the client asks otherwise."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            super().run_wsgi()  # werkzeug reads it and closes the connection after it
            return
        try:
            length = max(int(self.headers.get("Content-Length") or 0), 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        # The body is read here, to its last byte, so that the next request starts where it ends
        # whatever the application reads of it.
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        self.environ = environ
        try:
            status, headers, content = _call(self.server.app, environ)
        except Exception:  # what werkzeug does too: a 500 for the client, the traceback logged
            _werkzeug_log.exception("Error on request %s %s", self.command, self.path)
            status, headers, content = _call(InternalServerError(), environ)
        self._respond(status, headers, content)

    def _respond(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        declared = None
        for name, value in headers:
            if name.lower() == "content-length":
                declared = value
            self.send_header(name, value)
        bodiless = self.command == "HEAD" or code < 200 or code in _BODILESS
        if bodiless:
            content = b""
        elif declared is None:
            self.send_header("Content-Length", str(len(content)))
        elif declared.strip() != str(len(content)):
            # The application's length is not the body's: the body's end is the connection's.
            self.close_connection = True
            self.send_header("Connection", "close")
        self._body = content
        self.end_headers()

    def flush_headers(self) -> None:
        # One write for the headers and the body: one segment for a small response.
        body, self._body = self._body, b""
        buffered: list[bytes] | None = getattr(self, "_headers_buffer", None)
        if buffered is not None and body:
            buffered.append(body)
        super().flush_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats every request line before its logger drops it (serve() sets ERROR).
        if _werkzeug_log.isEnabledFor(logging.INFO):
            super().log_request(code, size)


def _call(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI application to the end: its status, headers and whole body."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    try:
        written.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise RuntimeError("the application returned without starting a response")
    return started[0], list(started[1]), b"".join(written)


class SandboxHttpServer:
    """moto's server application on a threaded werkzeug server, with :class:`KeepAliveHandler`.

    The application is moto's (every service moto supports, on one endpoint): only the HTTP
    around it differs from moto's ``ThreadedMotoServer``.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen and serve on a thread of this process."""
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=KeepAliveHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, then close the listening socket (open connections end with their
        clients: their threads are daemons)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
