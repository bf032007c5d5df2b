"""One event stream inside the client, and the observer of long operations.

Theory of operation: everything the client wants a person to know while it works goes
through one :class:`EventBus` per service context: the sync's progress (``progress.start``,
``progress.advance``, ``progress.stop``), warnings (``warning``), a finished sync round
(``sync.done``), what the server's event stream says (``server.<type>``: ``share.opened`` for
a grant accessed, ``server.changed`` otherwise), reminders that fell due (``reminder``),
conflicts (``conflict``) and a recovery of the account by its trusted contacts that started,
was approved or vetoed (``recovery``). A face subscribes once: the CLI turns the events into
rich progress bars and lines on stderr; the app's daemon turns them into live page updates.
Publishing never blocks and never raises into the operation that publishes (a failing
subscriber is dropped from that event only).

:class:`Cancellation` makes stopping a long operation explicit: the face calls ``cancel()``
and the operation (run by :func:`cancellable`) ends with :class:`~vault_core.errors.Cancelled`
at its next await, leaving what was confirmed by the server confirmed and nothing half-written
(the engine writes through temporary files and renames).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vault_core.errors import Cancelled

T = TypeVar("T")

PROGRESS_START = "progress.start"
PROGRESS_ADVANCE = "progress.advance"
PROGRESS_STOP = "progress.stop"
WARNING = "warning"
SYNC_DONE = "sync.done"
SHARE_OPENED = "share.opened"
SERVER_CHANGED = "server.changed"
DEPOSIT_NEW = "inbox.new"
REQUEST_NEW = "request.new"
ASK_NEW = "ask.new"  # a citizen's ask arrived (issuer) or was fulfilled (asker)
DEVICE_REVOKED = "device.revoked"
RECOVERY = "recovery"  # a recovery of this account started, approved or vetoed
REMINDER = "reminder"
CONFLICT = "conflict"
SERVER_UNAVAILABLE = "server.unavailable"


@dataclass(frozen=True)
class Event:
    """One thing that happened: ``kind`` (one of the names above), a sentence for a person,
    and data for a program (counts, ids, paths; never a secret)."""

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


Subscriber = Callable[[Event], None]


class EventBus:
    """Publish/subscribe, with callbacks or an async iterator (:meth:`stream`)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []

    def subscribe(
        self, callback: Subscriber, kinds: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback`` for every event (of ``kinds``, default all) from now on; returns
        the unsubscribe function."""
        entry = (callback, frozenset(kinds) if kinds is not None else None)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(entry)

        return unsubscribe

    def listening(self, kind: str) -> bool:
        """Whether anyone wants events of ``kind`` (a publisher may skip building them)."""
        return any(kinds is None or kind in kinds for _, kinds in self._subscribers)

    def publish(self, event: Event) -> None:
        for callback, kinds in list(self._subscribers):
            if kinds is not None and event.kind not in kinds:
                continue
            with contextlib.suppress(Exception):  # a subscriber never breaks the publisher
                callback(event)

    def emit(self, kind: str, text: str = "", **data: Any) -> None:
        self.publish(Event(kind, text, data))

    @contextlib.asynccontextmanager
    async def stream(self, maxsize: int = 1000) -> AsyncIterator[AsyncIterator[Event]]:
        """``async with bus.stream() as events: async for e in events: ...`` (events published
        after entering; when the reader falls ``maxsize`` behind, the oldest are dropped)."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)

        def put(event: Event) -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

        unsubscribe = self.subscribe(put)

        async def events() -> AsyncIterator[Event]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            unsubscribe()


class BusProgress:
    """The sync engine's progress interface (start/advance/stop), published on a bus."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._done = 0
        self._total = 0
        self._running = False

    def start(self, total: int) -> None:
        self._total, self._done, self._running = total, 0, True
        self._bus.emit(PROGRESS_START, total=total)

    def advance(self, path: str) -> None:
        self._done += 1
        self._bus.emit(PROGRESS_ADVANCE, path=path, done=self._done, total=self._total)

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._bus.emit(PROGRESS_STOP, done=self._done, total=self._total)


class Cancellation:
    """An explicit stop for a long operation (a sync, a redeem, the watch loop)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    async def wait(self) -> None:
        await self._event.wait()


async def cancellable(work: Awaitable[T], cancellation: Cancellation | None) -> T:
    """Run ``work``; if ``cancellation`` fires first, cancel it and raise Cancelled."""
    if cancellation is None:
        return await work
    if cancellation.cancelled:
        if asyncio.iscoroutine(work):
            work.close()  # (never started)
        raise Cancelled()
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(cancellation.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not task.done():  # cancelled, or this caller itself was cancelled
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise Cancelled()
    return task.result()
