"""One client connection of a model server: framing, its limits, and answers in request order.

A connection reads length-prefixed messages and hands each complete one to its host; every
message read gets exactly one answer, queued as a future in read order and written in that order
whatever order they complete in. Its bounds (docs/protocol.md, "Connections and limits"): a
message's size and the time to finish it, idle time, requests queued unanswered (reading pauses),
answers not read by the client (ERR_SLOW_CONSUMER). It ends once every request read is answered:
half-closed after the last answer, what the client still sends discarded for close_linger_ms.
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

    def connection_error(self, code: str, message: str) -> None: ...

    def on_message(self, connection: Connection, body: bytes) -> None: ...

    def forget(self, connection: Connection) -> None: ...


class Connection:
    def __init__(self, host: ConnectionHost, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.host = host
        self.reader = reader
        self.writer = writer
        self.answers: collections.deque[asyncio.Future[Answer]] = collections.deque()
        self.changed = asyncio.Event()  # an answer queued or sent, or the connection is to end
        self.ending = False
        self.done = asyncio.Event()  # set once the connection is closed
        self.last_write = time.monotonic()
        writer.transport.set_write_buffer_limits(high=host.limits.max_pending_response_bytes, low=0)

    def gone(self) -> bool:
        return self.writer.transport.is_closing()

    def queue(self, answer: asyncio.Future[Answer]) -> None:
        self.answers.append(answer)
        self.changed.set()

    def answer_now(self, response: Message) -> None:
        done: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        done.set_result(response)
        self.queue(done)

    def end(self) -> None:
        """Ends the connection once every request read is answered (step 3 of its life)."""
        self.ending = True
        self.changed.set()

    async def serve(self) -> None:
        sender = asyncio.create_task(self._send())
        try:
            await self._read()
        except (ConnectionError, OSError):
            pass
        self.end()
        try:
            await sender
        except (ConnectionError, OSError):
            pass
        await self.finish()

    async def _first_byte(self) -> bytes | None:
        """The next message's first byte; None when the connection is to end (EOF, idle, shutdown)."""
        limits = self.host.limits
        while True:
            if self.ending:
                return None
            if self.host.closing and not self.answers:
                return None
            idle_left = limits.idle_timeout_ms / 1000 - (time.monotonic() - self.last_write)
            if not self.answers and idle_left <= 0:
                return None
            read = asyncio.ensure_future(self.reader.read(1))
            self.changed.clear()
            woken = asyncio.ensure_future(self.changed.wait())
            done, _ = await asyncio.wait({read, woken}, timeout=max(0.001, idle_left), return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            if read in done:
                data = read.result()
                if not data:
                    return None
                self.last_write = time.monotonic()
                return data
            read.cancel()
            try:
                await read
            except asyncio.CancelledError:
                pass
            else:
                data = read.result()
                if not data:
                    return None
                return data

    async def _read(self) -> None:
        limits = self.host.limits
        while not self.ending:
            while len(self.answers) >= limits.max_queued_requests and not self.ending:
                self.changed.clear()
                await self.changed.wait()
            first = await self._first_byte()
            if first is None:
                return
            deadline = time.monotonic() + limits.partial_message_timeout_ms / 1000
            try:
                rest = await asyncio.wait_for(self.reader.readexactly(3), max(0.0, deadline - time.monotonic()))
                length = int.from_bytes(first + rest, "big")
                if length == 0:
                    self._framing_lost("ERR_BAD_LENGTH", "a message length of 0 is not allowed")
                    return
                if length > limits.max_message_bytes:
                    self._framing_lost("ERR_MESSAGE_TOO_LARGE", f"message of {length} bytes exceeds the limit of {limits.max_message_bytes}")
                    return
                body = await asyncio.wait_for(self.reader.readexactly(length), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                self._framing_lost("ERR_TIMEOUT", f"message not completed within {limits.partial_message_timeout_ms} ms")
                return
            except asyncio.IncompleteReadError:
                return
            self.last_write = time.monotonic()
            self.host.on_message(self, body)

    def _framing_lost(self, code: str, message: str) -> None:
        self.host.connection_error(code, message)
        self.answer_now(error_response(self.host.model_id, code, message))
        self.end()

    async def _send(self) -> None:
        limits = self.host.limits
        while True:
            while not self.answers:
                if self.ending:
                    return
                self.changed.clear()
                await self.changed.wait()
            answer = self.answers[0]
            response = await answer
            self.answers.popleft()
            self.changed.set()
            if response is None or self.gone():
                continue  # a request whose client went away
            self.writer.write(response if isinstance(response, bytes) else encode_message(response))
            self.last_write = time.monotonic()
            try:
                await asyncio.wait_for(self.writer.drain(), limits.write_stall_timeout_ms / 1000)
            except asyncio.TimeoutError:
                self.host.connection_error(
                    "ERR_SLOW_CONSUMER",
                    f"answers waited over {limits.max_pending_response_bytes} bytes for {limits.write_stall_timeout_ms} ms: the client does not read",
                )
                self.writer.transport.abort()
                self.ending = True
                return
            if self.host.closing and not self.answers:
                self.end()

    async def finish(self) -> None:
        """Half-closes after the last answer, discards what the client still sends, and closes within close_linger_ms."""
        transport = self.writer.transport
        if not transport.is_closing():
            try:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                deadline = time.monotonic() + self.host.limits.close_linger_ms / 1000
                while time.monotonic() < deadline:
                    chunk = await asyncio.wait_for(self.reader.read(65536), max(0.0, deadline - time.monotonic()))
                    if not chunk:
                        break
            except (asyncio.TimeoutError, ConnectionError, OSError):
                pass
        if not transport.is_closing():
            transport.abort()
        self.host.forget(self)
        self.done.set()


__all__ = ["Answer", "Connection", "ConnectionHost"]
