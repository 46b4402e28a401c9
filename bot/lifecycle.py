"""Long-running parts of `coordbot run` (chat, scheduler, delivery, web) as Components."""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    """Something `coordbot run` starts in order and stops in reverse order on the same loop."""

    name: str

    async def start(self) -> None:
        """Open resources and begin work; return once running."""
        ...

    async def stop(self) -> None:
        """Finish in-flight work, close resources; must be safe after a failed start."""
        ...
