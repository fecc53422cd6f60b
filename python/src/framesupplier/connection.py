"""One client connection of a model server: framing, its limits, and answers in request order.

A connection reads length-prefixed messages and hands each complete one to its host; every
message read gets exactly one answer, queued as a future in read order and written in that order
whatever order they complete in. Its bounds (docs/protocol.md, "Connections and limits"): a
message's size and the time to finish it (from its first byte), idle time, requests queued
unanswered (reading pauses), answers not read by the client (ERR_SLOW_CONSUMER). It ends once
every request read is answered: half-closed after the last answer, what the client still sends
discarded for close_linger_ms.

It is an ``asyncio.Protocol``: bytes are parsed as they arrive, the bounds are timers, and an answer
is written from its future's callback, so a request costs no task, no future and no wait of its own
beyond its answer's (ADR 0123: the server's own ceiling). Everything runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Protocol

from .limits import Limits
from .protocol import Message, encode_message, error_response

Answer = Message | bytes | None
"""A request's answer: a message, the same already framed (bytes: the inference runner frames its answers as it
checks that they are JSON), or None when nobody is left to read it (its client went away)."""


class ConnectionHost(Protocol):
    """What a connection needs of its server."""

    @property
    def limits(self) -> Limits: ...

    @property
    def model_id(self) -> str: ...

    @property
    def closing(self) -> bool: ...

    def admit(self, connection: Connection) -> tuple[str, str] | None:
        """None to serve the connection; else why it is refused (a code and a message), answered before it is closed."""

    def connection_error(self, code: str, message: str) -> None: ...

    def on_message(self, connection: Connection, body: bytes) -> None: ...

    def forget(self, connection: Connection) -> None: ...


class Connection(asyncio.Protocol):
    def __init__(self, host: ConnectionHost) -> None:
        self.host = host
        self.limits = host.limits
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answers: collections.deque[asyncio.Future[Answer]] = collections.deque()
        self.ending = False  # no more messages read: closed once every answer is written
        self.done = asyncio.Event()  # set once the connection is closed
        self.last_active = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self._message_began: float | None = None  # when the first byte of the message being read arrived
        self._partial: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._watched: asyncio.Future[Answer] | None = None  # the front answer whose callback will write
        self._reading_paused = False
        self._writing_paused = False
        self._eof = False
        self._finishing = False
        self._closed = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=self.limits.max_pending_response_bytes, low=0)
        refusal = self.host.admit(self)
        if refusal is not None:
            code, message = refusal
            self.host.connection_error(code, message)
            self.answer_now(error_response(self.host.model_id, code, message))
            self.end()
            return
        self._idle = self._loop.call_later(self.limits.idle_timeout_ms / 1000, self._idle_check)

    def data_received(self, data: bytes) -> None:
        if self.ending:
            return  # after the end: what the client still sends is discarded
        now = time.monotonic()
        self.last_active = now
        if not self.buffer and self._message_began is None:
            self._message_began = now
        self.buffer += data
        self._parse()

    def eof_received(self) -> bool:
        self._eof = True
        if self._finishing:
            self._close()
            return False
        self.end()
        return True  # keep the transport open to write the answers still due (half-close)

    def pause_writing(self) -> None:
        self._writing_paused = True
        self._stall = self._loop.call_later(self.limits.write_stall_timeout_ms / 1000, self._stalled)

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        self._write()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.ending = True
        for timer in (self._partial, self._idle, self._stall, self._linger):
            if timer is not None:
                timer.cancel()
        self.host.forget(self)
        self.done.set()

    # reading

    def _parse(self) -> None:
        """Every complete message in the buffer to the host, while requests queued stay under the bound."""
        limit = self.limits.max_queued_requests
        buffer = self.buffer
        while not self.ending and len(self.answers) < limit and len(buffer) >= 4:
            length = int.from_bytes(buffer[:4], "big")
            if length == 0:
                self._framing_lost("ERR_BAD_LENGTH", "a message length of 0 is not allowed")
                return
            if length > self.limits.max_message_bytes:
                self._framing_lost("ERR_MESSAGE_TOO_LARGE", f"message of {length} bytes exceeds the limit of {self.limits.max_message_bytes}")
                return
            if len(buffer) < 4 + length:
                break
            body = bytes(buffer[4 : 4 + length])
            del buffer[: 4 + length]
            now = time.monotonic()
            self.last_active = now
            self._message_began = now if buffer else None  # the next message's first byte is here already
            self.host.on_message(self, body)
        if self.ending:
            return
        full = len(self.answers) >= limit
        if full and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        # A message begun and not complete has partial_message_timeout_ms from its first byte; one left unread
        # because requests are queued up to the bound is not being read yet.
        if buffer and not full and self._message_began is not None:
            if self._partial is None:
                left = self._message_began + self.limits.partial_message_timeout_ms / 1000 - time.monotonic()
                self._partial = self._loop.call_later(max(0.0, left), self._partial_expired)
        elif self._partial is not None:
            self._partial.cancel()
            self._partial = None
        if not buffer:
            self._message_began = None

    def _partial_expired(self) -> None:
        self._partial = None
        if not self.ending and self.buffer:
            self._framing_lost("ERR_TIMEOUT", f"message not completed within {self.limits.partial_message_timeout_ms} ms")

    def _idle_check(self) -> None:
        self._idle = None
        if self.ending:
            return
        left = self.limits.idle_timeout_ms / 1000 - (time.monotonic() - self.last_active)
        if not self.answers and not self.buffer and left <= 0:
            self.end()  # idle: closed without an answer
            return
        self._idle = self._loop.call_later(max(left, 0.001) if not self.answers else self.limits.idle_timeout_ms / 1000, self._idle_check)

    def _framing_lost(self, code: str, message: str) -> None:
        self.host.connection_error(code, message)
        self.answer_now(error_response(self.host.model_id, code, message))
        self.end()

    # answers

    def gone(self) -> bool:
        return self._closed or self.transport is None or self.transport.is_closing()

    def queue(self, answer: asyncio.Future[Answer]) -> None:
        self.answers.append(answer)
        if len(self.answers) == 1:
            self._watch()

    def answer_now(self, response: Message) -> None:
        done: asyncio.Future[Answer] = self._loop.create_future()
        done.set_result(response)
        self.queue(done)

    def _watch(self) -> None:
        """The front answer writes (and those done behind it) once it is done."""
        front = self.answers[0]
        if self._watched is not front:
            self._watched = front
            front.add_done_callback(self._front_done)

    def _front_done(self, _: asyncio.Future[Answer]) -> None:
        self._watched = None
        self._write()

    def _write(self) -> None:
        transport = self.transport
        while self.answers and self.answers[0].done() and not self._writing_paused:
            response = self.answers.popleft().result()
            if response is None or transport is None or transport.is_closing():
                continue  # a request whose client went away
            transport.write(response if isinstance(response, bytes) else encode_message(response))
            self.last_active = time.monotonic()
        if self.answers:
            if not self._writing_paused:
                self._watch()
        elif self.ending:
            self._finish()
            return
        elif self.host.closing:
            self.end()
            return
        if self._reading_paused and len(self.answers) < self.limits.max_queued_requests and transport is not None:
            self._reading_paused = False
            transport.resume_reading()
            if self.buffer:
                self._message_began = time.monotonic()  # a message left unread is read from now: its deadline too
            self._parse()  # what was left in the buffer while the queue was full

    def _stalled(self) -> None:
        self._stall = None
        limits = self.limits
        self.host.connection_error(
            "ERR_SLOW_CONSUMER",
            f"answers waited over {limits.max_pending_response_bytes} bytes for {limits.write_stall_timeout_ms} ms: the client does not read",
        )
        self.ending = True
        if self.transport is not None:
            self.transport.abort()

    # the end

    def shutdown(self) -> None:
        """The server is closing: ends now when nothing is due, else once the last answer due is written."""
        if not self.answers:
            self.end()

    def end(self) -> None:
        """Ends the connection once every request read is answered (step 3 of its life)."""
        self.ending = True
        if self._partial is not None:
            self._partial.cancel()
            self._partial = None
        if not self.answers:
            self._finish()

    def _finish(self) -> None:
        """Half-closes after the last answer, discards what the client still sends, and closes within close_linger_ms."""
        if self._finishing:
            return
        self._finishing = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        if self._eof:
            transport.close()  # the client is done sending: nothing to linger for
            return
        if transport.can_write_eof():
            transport.write_eof()
        self._linger = self._loop.call_later(self.limits.close_linger_ms / 1000, transport.abort)

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


__all__ = ["Answer", "Connection", "ConnectionHost"]
