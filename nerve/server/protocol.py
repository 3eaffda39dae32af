"""uvicorn's httptools protocol with time and size limits on each request's arrival, a cap on
connections, and clients that hang up reported in one line.

Slowloris (R. Hansen, 2009) ties a server up by sending requests slowly: a header line every
few seconds, or a Content-Length body a byte at a time. Each such connection holds a file
descriptor (and, once its head is in, a request task) for as long as the client likes; a few
hundred of them exhaust a process's descriptors, and then nobody, not even a health check, gets
an answer. uvicorn bounds only the idle time between requests (`timeout_keep_alive`): a
connection that sends nothing, half a head or half a body is held for ever, and httptools
buffers a head of any size. So, per connection:

- a request's head must be complete within `header_timeout` of its first byte (of the
  connection's opening, for the first request), and its body within `body_timeout` of the
  head; a late request is answered 408 in the contract's shape (RFC 9110 §15.5.9: a server may
  close a connection it has waited on too long) and the connection closed, lingering a moment
  so that a client still sending reads the answer rather than a reset; a connection that never
  sent a byte is just closed;
- a head larger than `max_header_bytes` is answered 431 (RFC 6585 §5);
- beyond `max_connections` open connections (or running requests) a request is answered 503 in
  the contract's shape (uvicorn's `limit_concurrency` answers text/plain), and a connection
  beyond `max_open`, what the descriptor limit leaves room for, is closed as it opens;
- a client that hangs up before its answer is one info line, not an ERROR traceback.

A deadline's timer is armed only when a read ends with a request incomplete: a request that
arrives in one read, as nearly every tracking call does, costs no timer.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any, cast

import structlog
from uvicorn._types import ASGI3Application
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from nerve import metrics
from nerve.errors import (
    HeaderTooLarge,
    NerveError,
    RequestTimeout,
    Unavailable,
    error_body,
    error_response,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float  # seconds from a request's first byte to the end of its head
    body_timeout: float  # seconds from the end of the head to the end of the body
    max_header_bytes: int
    max_connections: int  # beyond: 503
    max_open: int  # beyond: closed unanswered, so the process keeps descriptors of its own


class _Stage(enum.Enum):
    OPENED = "opened"  # a new connection that has sent nothing yet
    HEAD = "head"  # a request has begun, its head is not complete
    BODY = "body"  # the head is in, the body is not complete
    RECEIVED = "received"  # the whole request is in (then uvicorn's keep-alive timeout applies)
    CLOSING = "closing"  # answered by the server itself, which closes (_linger)
    CLOSED = "closed"  # closed (or handed over) by the server: nothing left to watch


# How long a connection the server answered and is closing keeps reading (and dropping) what
# the client still sends, so the answer is not destroyed by a reset (see _linger). Enough for a
# client to read a few hundred bytes and hang up; nginx's lingering_timeout is 5 s.
_LINGER_SECONDS = 2.0


def _answering(error: NerveError, headers: dict[str, str] | None = None) -> ASGI3Application:
    """An app that answers `error` in the contract's shape and closes the connection, run by
    uvicorn in place of Nerve's for a request refused as its head arrives."""
    response = error_response(error, headers={**(headers or {}), "Connection": "close"})

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await response(scope, receive, send)

    return cast(ASGI3Application, answer)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn builds one per connection: `http=functools.partial(LimitedHttpToolsProtocol,
    limits=...)` (see nerve/server/config.py)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = limits
        self._application = self.app
        self._stage = _Stage.OPENED
        self._deadline: asyncio.TimerHandle | None = None
        self._read_size = 0
        self._heads_begun_in_read = 0
        self._head_bytes = 0
        self._body_bytes = 0
        self._hung_up = False

    # The connection (asyncio.Protocol)

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_open:
            metrics.HTTP_REFUSED.labels("too_many_connections").inc()
            self._close()
            return
        self._arm(self._limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        before = self._stage
        if before is _Stage.CLOSING:
            return  # what a client sends after our answer, read only to be dropped
        self._read_size = len(data)
        self._heads_begun_in_read = 0
        super().data_received(data)
        # A deadline is armed at the end of the read its stage began in (so it counts from
        # then), and only if the stage is not over by then.
        stage = self._stage
        if stage is _Stage.RECEIVED:  # nearly always: the whole request came in this read
            if not self._heads_begun_in_read and before is _Stage.RECEIVED and self._answered():
                self._blank_lines()
        elif stage is _Stage.HEAD:
            if not self.transport.is_closing():
                self._head_read(before)
        elif stage is _Stage.BODY:
            self._body_read(before)

    def eof_received(self) -> None:
        self._hung_up = True
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        closed_by_us = self._stage in (_Stage.CLOSING, _Stage.CLOSED)
        if not closed_by_us and (exc is not None or self._hung_up):
            self._report_hang_up()
        self._stage = _Stage.CLOSED
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # Nerve serves no WebSocket; uvicorn's WebSocket protocol takes the connection over
        # (and refuses the handshake), with its own timeouts.
        self._disarm()
        self._stage = _Stage.CLOSED
        super().handle_websocket_upgrade()

    # The request (httptools' parser callbacks)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._heads_begun_in_read += 1
        self._head_bytes = 0
        self._stage = _Stage.HEAD  # from OPENED, the connection's deadline stays armed

    def on_headers_complete(self) -> None:
        # uvicorn starts `self.app` for this request (or queues it behind a pipelined one).
        self.app = self._refusal() or self._application
        super().on_headers_complete()
        if self._deadline is not None:
            self._disarm()
        self._stage = _Stage.BODY

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._deadline is not None:
            self._disarm()
        self._stage = _Stage.RECEIVED

    # Limits

    def _blank_lines(self) -> None:
        """Bytes between requests that began none: blank lines, which may precede a request
        line (RFC 9112 §2.2). They stopped uvicorn's keep-alive timer, so a CRLF every few
        seconds would hold the connection for ever: they are the next head's start."""
        self._stage = _Stage.HEAD
        self._head_bytes = 0
        self.url = b""  # as on_message_begin: not the last request's, in a log line
        self._arm(self._limits.header_timeout)

    def _body_read(self, stage_before: _Stage) -> None:
        """After a read that left a body incomplete: count it, for a log line, and time it."""
        if stage_before is _Stage.BODY and self._heads_begun_in_read == 0:
            self._body_bytes += self._read_size  # all of this read was body
        else:  # the body began in this read: what of it uvicorn holds for the app so far
            self._body_bytes = len(self.cycle.body)
        if self._deadline is None:
            self._arm(self._limits.body_timeout)

    def _head_read(self, stage_before: _Stage) -> None:
        """After a read that left a head incomplete: refuse it if too large, else time it."""
        begun = self._heads_begun_in_read
        if begun == 0 or (begun == 1 and stage_before in (_Stage.OPENED, _Stage.RECEIVED)):
            # All of this read is head: the head began in an earlier read, or this read begins
            # with it. (A head that begins behind a pipelined request, somewhere inside a read,
            # is counted from the next read on.)
            self._head_bytes += self._read_size
            if self._head_bytes > self._limits.max_header_bytes:
                self._refuse_request("header_too_large", self._head_too_large())
                return
        if self._deadline is None:
            self._arm(self._limits.header_timeout)

    def _refusal(self) -> ASGI3Application | None:
        """The answer to a complete head, instead of the app's, if it must be refused."""
        limit = self._limits.max_header_bytes
        # Only a read as large as the limit can have brought a head over it in one piece.
        if self._head_bytes + self._read_size > limit and self._head_size() > limit:
            metrics.HTTP_REFUSED.labels("header_too_large").inc()
            log.info("header_too_large", stage="head", path=self._partial_path())
            return _answering(self._head_too_large())
        capacity = self._limits.max_connections
        if len(self.connections) > capacity or len(self.tasks) >= capacity:
            metrics.HTTP_REFUSED.labels("over_capacity").inc()
            error = Unavailable("the server has too many connections open; retry shortly")
            # Retry-After: SDKs retry a 503; not at once, please.
            return _answering(error, {"Retry-After": "1"})
        return None

    def _head_size(self) -> int:
        """The complete head's size as parsed: request line and header lines."""
        request_line = len(self.url) + 20  # method, version, spaces, CRLF: about
        return request_line + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _head_too_large(self) -> HeaderTooLarge:
        limit = self._limits.max_header_bytes
        return HeaderTooLarge(f"the request head exceeds {limit} bytes")

    def _arm(self, timeout: float) -> None:
        self._deadline = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return  # closed meanwhile (uvicorn refused a malformed request, say)
        if self._stage is _Stage.OPENED:
            self._close()  # it never asked anything: there is nothing to answer
        elif self._stage is _Stage.HEAD:
            timeout = self._limits.header_timeout
            self._refuse_request(
                "request_timeout",
                RequestTimeout(f"the request head did not arrive within {timeout:g} s"),
            )
        elif self._stage is _Stage.BODY:
            self._late_body()

    def _late_body(self) -> None:
        if self.pipeline:
            # The body belongs to a pipelined request: uvicorn reads it only once the earlier
            # ones are answered, so the client is not late. Its time starts again.
            self._arm(self._limits.body_timeout)
            return
        if self.cycle.response_started:
            # Answered without the rest of the body (401, 413 ...), which was being read only
            # so the connection could be reused; the answer went out long ago.
            self._close()
            return
        # The app's receive() now returns http.disconnect and its answer goes nowhere; the
        # answer is ours.
        self.cycle.disconnected = True
        self.cycle.message_event.set()
        timeout = self._limits.body_timeout
        error = RequestTimeout(f"the request body did not arrive within {timeout:g} s")
        self._refuse_request("request_timeout", error)

    def _refuse_request(self, reason: str, error: NerveError) -> None:
        """Answer `error` in the contract's shape and close: this request is not worth more
        waiting or buffering. Logged once, at info: the client's problem, not the server's."""
        metrics.HTTP_REFUSED.labels(reason).inc()
        log.info(reason, stage=self._stage.value, **self._request_fields())
        if self._stage is _Stage.HEAD and not self._answered():
            # The previous request is still being answered and no answer may cut into it. A
            # client that sends its next request before (pipelining) and stalls it is cut off.
            self._close()
            return
        self._write_error(error)
        self._linger()

    def _answered(self) -> bool:
        """Whether the connection's last request (if any) has had its whole answer."""
        return self.cycle is None or self.cycle.response_complete

    def _write_error(self, error: NerveError) -> None:
        body = error_body(error)
        head = [STATUS_LINE[error.status]]
        for name, value in self.server_state.default_headers:  # Server, Date
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)

    def _linger(self) -> None:
        """Close after an answer of ours without destroying it. Closing a socket while the
        client's bytes still arrive makes the kernel answer them with a reset, which can
        discard our answer before the client reads it (why nginx closes "lingering"). So: end
        our side once the answer is out (FIN), read and drop what still comes, and close
        when the client does, or after _LINGER_SECONDS."""
        self._disarm()
        self._stage = _Stage.CLOSING
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.flow.resume_reading()  # uvicorn may have paused it for a body no one read
        self._deadline = self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _close(self) -> None:
        self._disarm()
        self._stage = _Stage.CLOSED
        self.transport.close()

    # Hang-ups

    def _report_hang_up(self) -> None:
        stage = self._stage
        if stage is _Stage.OPENED:
            return  # connected and left without a word (a port check)
        if stage is _Stage.RECEIVED and self._answered():
            return  # between requests: how a client ends a kept-alive connection
        metrics.HTTP_CLIENT_DISCONNECTS.labels(stage.value).inc()
        # `received` stage: the whole request was in and the answer was being made.
        log.info("client_disconnected", stage=stage.value, **self._request_fields())

    def _request_fields(self) -> dict[str, Any]:
        """What is known of the current request, for a log line: what arrived of it."""
        if self._stage is _Stage.HEAD:
            return {"path": self._partial_path()}
        declared = next((v for k, v in self.headers or () if k == b"content-length"), None)
        expected = int(declared) if declared and declared.isdigit() else None
        whole = self._stage is _Stage.RECEIVED  # the body is counted only while incomplete
        return {
            "method": self.scope.get("method"),
            "path": self.scope.get("path"),
            "received_bytes": expected if whole else self._body_bytes,
            "expected_bytes": expected,
        }

    def _partial_path(self) -> str | None:
        """What arrived of an incomplete head's path, if anything (the parser's URL so far)."""
        return self.url.partition(b"?")[0][:200].decode("latin-1") or None
