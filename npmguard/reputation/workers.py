"""Parsing package documents in worker processes, while this process downloads.

A cold check of a big tree downloads ~190 MB of package documents; turning them into compact
facts (``json.loads``, :func:`~npmguard.reputation.extract.extract_package`, the codec) costs
about as much CPU again and holds the GIL, so in one process the two take turns. A
:class:`ParserPool` runs ``python -m npmguard.reputation.workers`` children (plain
subprocesses, not ``multiprocessing``: nothing of the caller's ``__main__`` is re-run), sends
each a document's bytes over a pipe and gets back only the small encoded facts.
:meth:`ParserPool.submit` hands a document over without waiting, so the thread that
downloaded it starts the next download at once.

Messages are ``marshal`` data (both ends run the same interpreter) behind an 8-byte length.
A worker that dies, or fails on a document, is dropped or skipped and the document is parsed
here instead: a worker never costs a result, only speed.
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from npmguard.reputation import codec
from npmguard.reputation.extract import extract_package

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("<Q")
# a package document's reduction: (status, error, picture blob, version -> manifest blob)
Reduced = tuple[str, "str | None", "bytes | None", dict[str, bytes]]


def _send(stream: IO[bytes], value: Any) -> None:
    data = marshal.dumps(value)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        raise EOFError("worker closed its pipe")
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("worker closed its pipe")
    return marshal.loads(data)


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "npmguard.reputation.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def call(self, request: tuple[Any, ...]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        _send(self.proc.stdin, request)
        return _receive(self.proc.stdout)

    def stop(self) -> None:
        """Close its pipes: it ends at EOF."""
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        self.stop()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
            self.proc.kill()
            self.proc.wait()


class ParserPool:
    """``reduce(name, body, wanted)`` from any thread: in a free worker process, or in the
    calling thread when every worker has died (or none could start)."""

    def __init__(
        self, workers: int, fallback: Callable[[str, bytes | bytearray, tuple[str, ...]], Reduced]
    ):
        self._fallback = fallback
        self._free: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._dispatch = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="npmguard-parse"
        )
        for _ in range(workers):
            try:
                worker = _Worker()
            except OSError as e:  # pragma: no cover - cannot start a process here
                log.debug("no parser process (%s); parsing in this process", e)
                break
            self._all.append(worker)
            self._free.put(worker)

    def _alive(self) -> int:
        with self._lock:
            return len(self._all)

    def _drop(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.close()

    def warm_names(self, directory: Path) -> None:
        """Have one worker build the popular-names store in ``directory`` (the rules' next
        need), if one is free."""
        try:
            worker = self._free.get_nowait()
        except queue.Empty:
            return

        def run() -> None:
            try:
                worker.call(("names", str(directory)))
            except (OSError, EOFError, ValueError):
                self._drop(worker)
                return
            self._free.put(worker)

        threading.Thread(target=run, name="npmguard-names", daemon=True).start()

    def _run(self, request: tuple[Any, ...]) -> Any:
        """A worker's answer, or None when no worker could give one (all dead, or it failed
        on this request: the caller then does the work itself)."""
        while self._alive():
            try:
                worker = self._free.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                result = worker.call(request)
            except (OSError, EOFError, ValueError) as e:
                log.debug("parser process failed (%s); working here", e)
                self._drop(worker)
                continue
            self._free.put(worker)
            return None if result == ("retry",) else result
        return None

    def reduce(self, name: str, body: bytes | bytearray, wanted: tuple[str, ...]) -> Reduced:
        result: Reduced | None = self._run(("parse", name, body, wanted))
        return self._fallback(name, body, wanted) if result is None else result

    def submit(
        self, name: str, body: bytes | bytearray, wanted: tuple[str, ...]
    ) -> Future[Reduced]:
        """:meth:`reduce` without waiting: the calling (download) thread goes on at once."""
        return self._dispatch.submit(self.reduce, name, body, wanted)

    def close(self) -> None:
        self._dispatch.shutdown()
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:  # all told first: they end together, not one after another
            worker.stop()
        for worker in workers:
            worker.close()


def reduce_document(name: str, body: bytes | bytearray, wanted: tuple[str, ...]) -> Reduced:
    """Parse one package document and encode its compact facts (in a worker process, where
    the parsed document never reaches the parent: only the small encoded facts do)."""
    from npmguard.reputation.decode import read_packument

    try:
        data = read_packument(body)
    except ValueError as e:  # JSON errors, UTF-8 errors, nesting too deep
        return ("error", f"not a JSON package document ({e})", None, {})
    del body
    if not isinstance(data, dict):
        return ("error", "not a JSON object", None, {})
    got = extract_package(name, data, wanted)
    del data
    manifests = {v: codec.encode_manifest(m) for v, m in got.manifests.items()}
    return ("ok", None, codec.encode_picture(got.picture), manifests)


def _serve() -> None:  # pragma: no cover - runs in the worker process
    import signal

    # Ctrl-C reaches the whole process group: the parent stops, closes the pipes, and this
    # process ends at EOF, without a traceback of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(EOFError, OSError):  # the parent is gone, or closed the pipes
        _loop(sys.stdin.buffer, sys.stdout.buffer)
    # nothing to flush or clean up: skip tearing down the heap (the parent waits for this)
    os._exit(0)


def _loop(stdin: IO[bytes], stdout: IO[bytes]) -> None:  # pragma: no cover - in the worker
    while True:
        request = _receive(stdin)
        if request[0] == "names":
            from npmguard.names.store import open_store

            try:
                open_store(Path(request[1]))
            except Exception as e:  # the parent builds it again if needed
                log.debug("names store: %s", e)
            _send(stdout, True)
        else:
            try:
                reply = _handle(request)
            except Exception:  # the parent does it again, reporting any error as it always did
                reply = ("retry",)
            _send(stdout, reply)


def _handle(request: tuple[Any, ...]) -> Any:  # pragma: no cover - runs in the worker process
    _, name, body, wanted = request
    return reduce_document(name, body, tuple(wanted))


if __name__ == "__main__":  # pragma: no cover
    _serve()
