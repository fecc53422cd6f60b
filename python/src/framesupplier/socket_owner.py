"""Owning a model server's socket path, as docs/protocol.md's "Owning the socket path" says.

An abstract Unix socket named from the path's hash is the lock (the Node server's name, so a Node
and a Python server exclude each other on one path); holding it, a socket file left by a server
that died is removed, a live one is refused, and the new socket is bound with the mode asked for.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket as socketlib
import stat

from .errors import ServerError


def socket_lock_name(socket_path: str) -> str:
    """The abstract address (without its NUL) that owns a socket path: the same as the Node server's."""
    absolute = os.path.abspath(socket_path)
    directory = os.path.dirname(absolute)
    try:
        directory = os.path.realpath(directory, strict=True)
    except OSError:
        pass
    digest = hashlib.sha256(os.path.join(directory, os.path.basename(absolute)).encode("utf-8")).hexdigest()
    return f"framesupplier/model-server/{digest}"


def take_socket_lock(socket_path: str) -> socketlib.socket:
    """Step 1: the lock, held as long as the returned socket is open; ERR_SOCKET_IN_USE if another server has it."""
    holder = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    try:
        holder.bind("\0" + socket_lock_name(socket_path))
        holder.listen(1)
    except OSError as error:
        holder.close()
        if error.errno == errno.EADDRINUSE:
            raise ServerError("ERR_SOCKET_IN_USE", f"another model server holds {socket_path} (starting, serving or closing)") from None
        raise
    return holder


def bind_socket(socket_path: str, mode: int) -> socketlib.socket:
    """Steps 2-5, holding the lock: a listening, non-blocking socket at the path."""
    try:
        st: os.stat_result | None = os.lstat(socket_path)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISSOCK(st.st_mode):
            raise ServerError("ERR_SOCKET_IN_USE", f"{socket_path} exists and is not a socket")
        probe = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
        try:
            probe.connect(socket_path)
        except OSError:
            os.unlink(socket_path)  # left by a server that died
        else:
            raise ServerError("ERR_SOCKET_IN_USE", f"someone serves {socket_path} without its lock")
        finally:
            probe.close()
    listener = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    previous = os.umask(0o777 & ~mode)
    try:
        listener.bind(socket_path)
    except OSError as error:
        listener.close()
        raise ServerError("ERR_PY_SOCKET", f"cannot listen on {socket_path}: {error.strerror}") from None
    finally:
        os.umask(previous)
    listener.listen(511)
    listener.setblocking(False)
    return listener


def remove_socket(socket_path: str) -> None:
    """The socket file removed on close (only if it still is a socket)."""
    try:
        if stat.S_ISSOCK(os.lstat(socket_path).st_mode):
            os.unlink(socket_path)
    except OSError:
        pass


__all__ = ["bind_socket", "remove_socket", "socket_lock_name", "take_socket_lock"]
