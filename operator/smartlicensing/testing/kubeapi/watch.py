"""Watch history and watchers: one global resourceVersion, like etcd's revision.

Every committed change is appended to a bounded history shared by all kinds. A watch that asks
to resume from a resourceVersion replays what happened after it; once the history has been
trimmed past that version the watch gets an ``ERROR`` event with a 410 ``Expired`` Status, which
is how kopf and the ``kubernetes`` client learn to re-list. Watchers apply their own namespace,
label and field selectors, turning a MODIFIED that enters or leaves the selection into ADDED or
DELETED as the API server does.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any

from smartlicensing.testing.kubeapi.selectors import Matcher

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
BOOKMARK = "BOOKMARK"
ERROR = "ERROR"

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True, slots=True)
class Change:
    """One committed change. ``obj`` and ``old`` are never mutated after commit."""

    revision: int
    key: tuple[str, str]
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


class History:
    """The retained changes, oldest first, and the newest revision that was trimmed away."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"watch history size must be at least 1, got {size}")
        self.changes: collections.deque[Change] = collections.deque()
        self.size = size
        self.compacted = 0

    def append(self, change: Change) -> None:
        self.changes.append(change)
        while len(self.changes) > self.size:
            self.compacted = self.changes.popleft().revision

    def since(self, revision: int, key: tuple[str, str]) -> list[Change]:
        return [c for c in self.changes if c.revision > revision and c.key == key]


class Watcher:
    """One open watch stream: its filters and the queue the server drains into the response."""

    def __init__(
        self,
        key: tuple[str, str],
        namespace: str | None,
        labels: Matcher,
        fields: Matcher,
    ) -> None:
        self.key = key
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    def selects(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.labels(obj) and self.fields(obj)

    def translate(self, change: Change) -> tuple[str, dict[str, Any]] | None:
        """The event this watcher sees for ``change``, or None if it is outside its selection."""
        now = self.selects(change.obj)
        if change.type == MODIFIED:
            before = self.selects(change.old)
            if now and not before:
                return (ADDED, change.obj)
            if before and not now:
                return (DELETED, change.obj)
        return (change.type, change.obj) if now else None

    def offer(self, change: Change) -> None:
        event = self.translate(change)
        if event is not None:
            self.queue.put_nowait(event)

    def close(self) -> None:
        self.queue.put_nowait(None)
