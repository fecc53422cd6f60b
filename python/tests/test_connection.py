"""A connection's bounds on the Python server (docs/protocol.md, "Connections and limits"; connection.py): idle,
requests queued unanswered (reading pauses, then resumes), answers the client does not read (ERR_SLOW_CONSUMER), a
half-closed client still answered, the drain at shutdown. Each step waits on what proves it, never on a clock."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from conftest import request

from framesupplier import Frame, Limits
from framesupplier.testing import StoreWriter

RGB = 64 * 48 * 3


def _held(start: Any, shm: str, **options: Any) -> tuple[Any, StoreWriter, threading.Event, threading.Event]:
    entered, free = threading.Event(), threading.Event()

    def infer(frame: Frame) -> list[Any]:
        entered.set()
        assert free.wait(30)
        return []

    server = start(infer, **options)
    writer = StoreWriter(shm, "cam", slot_bytes=RGB)
    writer.write(bytes(RGB), 64, 48, "RGB24")
    return server, writer, entered, free


def test_an_idle_connection_is_closed_without_an_answer(start: Any) -> None:
    server = start(lambda frame: [], limits=Limits(idle_timeout_ms=100))
    client = server.client()
    assert client.sock.recv(1) == b"", "closed by the server, nothing sent"


def test_reading_pauses_at_max_queued_requests_and_resumes_in_order(start: Any, shm: str) -> None:
    server, writer, entered, free = _held(start, shm, limits=Limits(max_queued_requests=2))
    client, watch = server.client(), server.client()
    for n in range(5):
        client.send(request(writer, 1, camera_id=f"c{n}", request_id=n))
    assert entered.wait(30)
    while watch.ask({"type": "ping"})["waiting"] != 1:  # c0 runs, c1 waits: two unanswered, the rest left unread
        pass
    assert watch.ask({"type": "ping"})["waiting"] == 1
    free.set()
    assert [client.recv()["request_id"] for _ in range(5)] == [0, 1, 2, 3, 4]


def test_a_client_that_reads_no_answers_is_cut_err_slow_consumer(start: Any) -> None:
    server = start(lambda frame: [], limits=Limits(max_pending_response_bytes=4096, write_stall_timeout_ms=100))
    client = server.client()
    ping = b'{"type":"ping","request_id":1}'
    flood = (len(ping).to_bytes(4, "big") + ping) * 150_000  # 5 MB of pings: their pongs cannot all wait in the socket
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            client.sock.sendall(flood)
        except OSError as error:  # cut by the server
            outcome.append(error)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(60)
    assert outcome and isinstance(outcome[0], (BrokenPipeError, ConnectionResetError)), outcome
    assert server.server.errors["ERR_SLOW_CONSUMER"] == 1


def test_a_half_closed_client_gets_its_answers_then_the_end(start: Any, shm: str) -> None:
    server, writer, entered, free = _held(start, shm)
    client = server.client()
    client.send(request(writer, 1, request_id=7))
    client.sock.shutdown(socket.SHUT_WR)
    assert entered.wait(30)
    free.set()
    assert client.recv()["request_id"] == 7
    assert client.sock.recv(1) == b""


def test_closing_answers_what_was_read_and_refuses_what_comes_after_on_a_connection_still_open(start: Any, shm: str) -> None:
    server, writer, entered, free = _held(start, shm)
    busy, late, idle = server.client(), server.client(), server.client()
    busy.send(request(writer, 1, camera_id="busy", request_id=1))
    assert entered.wait(30)
    late.send(request(writer, 1, camera_id="late", request_id=2))  # waits in its slot: an answer due on this connection
    while idle.ask({"type": "ping"})["waiting"] != 1:
        pass
    closed = asyncio.run_coroutine_threadsafe(server.server.close(), server.loop)
    assert idle.sock.recv(1) == b"", "a connection with nothing due ends at once"
    late.send(request(writer, 1, camera_id="late", request_id=3))  # still read: answered, but not served
    late.send({"type": "ping", "request_id": 4})
    free.set()
    assert busy.recv()["error"] is None, "a request read before the close gets its real answer"
    answers = [late.recv() for _ in range(3)]
    assert [a["request_id"] for a in answers] == [2, 3, 4]
    assert answers[0]["error"] is None and answers[1]["error"]["code"] == "ERR_SHUTTING_DOWN" and answers[2]["type"] == "pong"
    closed.result(30)
    assert busy.sock.recv(1) == b"" and late.sock.recv(1) == b""
