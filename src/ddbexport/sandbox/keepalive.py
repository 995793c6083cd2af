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

import email.parser
import io
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import Response
from moto.core import utils as moto_utils
from moto.core.request import normalize_request
from moto.core.utils import convert_to_flask_response
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.settings import DISABLE_GLOBAL_CORS
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import RequestRedirect
from werkzeug.serving import BaseWSGIServer, make_server

_werkzeug_log = logging.getLogger("werkzeug")

#: botocore's ClientError, which moto's view answers with a 400 (taken from moto: only the AWS
#: adapter imports botocore).
_CLIENT_ERROR: type[Exception] = getattr(moto_utils, "ClientError")  # noqa: B009

#: http.client's limits on a header line and on the number of headers.
_MAX_LINE = 65536
_MAX_HEADERS = 100

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

    def parse_request(self) -> bool:
        """The request line and headers, as http.server parses them, a simple header block
        without its email parser (a tenth of the server's time per request)."""
        words = self.raw_requestline.split()
        if len(words) != 3 or words[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            return bool(super().parse_request())  # anything unusual: the standard library's
        command, path, version = (word.decode("iso-8859-1") for word in words)
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.command, self.request_version = command, version
        self.close_connection = True  # until the headers are known to allow more
        lines: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            lines.append(line)
            if len(lines) > _MAX_HEADERS:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
                return False
        self.headers = headers = _header_block(lines, self.MessageClass)
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        connection = headers.get("Connection", "").lower()
        self.close_connection = version == "HTTP/1.0" or connection == "close"
        if connection == "keep-alive":
            self.close_connection = False
        if version == "HTTP/1.1" and headers.get("Expect", "").lower() == "100-continue":
            return bool(self.handle_expect_100())
        return True

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
        # The body is read here, to its last byte, so that the next request starts where it ends
        # whatever the application reads of it ("Expect: 100-continue" had its answer from
        # parse_request).
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


def _header_block(lines: list[bytes], message_class: Any) -> Any:
    """Header lines as the message ``http.client.parse_headers`` makes of them (folded or
    malformed lines are left to its email parser)."""
    message = message_class()
    for line in lines:
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon or line[:1] in (b" ", b"\t"):
            text = b"".join(lines).decode("iso-8859-1") + "\r\n"
            return email.parser.Parser(_class=message_class).parsestr(text)
        message[name] = value.lstrip(" \t").rstrip("\r\n")
    return message


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


class _MotoWithoutFlask:
    """moto's server application, with the requests of moto's own handlers served directly.

    moto routes each request to a Flask application per service, whose views wrap its handlers
    (``convert_to_flask_response``); Flask's request context, dispatch and response handling
    cost a tenth of the server's time per request. Here the Flask application still routes (its
    URL map) and the handler is called as moto's view calls it; what that view would not be
    (another kind of view, an OPTIONS or cross-origin request: CORS), moto's own API and routing
    failures go through Flask as before.
    """

    def __init__(self) -> None:
        self._dispatcher = DomainDispatcherApplication(create_backend_app)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        app: Any = self._dispatcher.get_application(environ)
        view = _view_for(app, environ)
        if view is None:
            return app(environ, start_response)  # type: ignore[no-any-return]
        request = normalize_request(app.request_class(environ))  # moto's BackendRequest
        try:
            recorder._record_request(request)
            result = view.callback(request, request.raw_url, dict(request.headers))
        except _CLIENT_ERROR as exc:  # what moto's view answers to it
            result = 400, {}, getattr(exc, "response", {})["Error"]["Message"]
        except HTTPException as exc:
            response: Response = exc.get_response(environ)  # type: ignore[assignment]
            return self._with_cors(response)(environ, start_response)
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        response = Response(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
        return self._with_cors(response)(environ, start_response)

    @staticmethod
    def _with_cors(response: Response) -> Response:
        if not DISABLE_GLOBAL_CORS:
            response.headers.setdefault("Access-Control-Allow-Origin", "*")
        return response


def _view_for(app: Any, environ: dict[str, Any]) -> convert_to_flask_response | None:
    """The moto handler view Flask would call for this request, if that is all it would do."""
    if environ.get("REQUEST_METHOD") == "OPTIONS" or "HTTP_ORIGIN" in environ:
        return None
    if environ.get("PATH_INFO", "").startswith("/moto-api"):
        return None  # moto's own API and dashboard (its templates need Flask's app context)
    try:
        endpoint, _ = app.url_map.bind_to_environ(environ).match()
    except (HTTPException, RequestRedirect):
        return None
    view = app.view_functions.get(endpoint)
    return view if isinstance(view, convert_to_flask_response) else None


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
        app = _MotoWithoutFlask()
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
