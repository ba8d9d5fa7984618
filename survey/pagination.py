"""Long lists split into pages (``?page=N``): a county round's links and posters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

from flask import request

T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int
    first: int  # 1-based number of the first item shown
    last: int

    @property
    def needed(self) -> bool:
        return self.pages > 1


def paginate(items: list[T], per_page: int) -> tuple[list[T], Pager]:
    """The items of page ``?page=`` (1 when absent or invalid; the last page when beyond)."""
    pages = max(1, math.ceil(len(items) / per_page))
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    shown = items[start:start + per_page]
    return shown, Pager(page, pages, len(items), start + 1 if shown else 0, start + len(shown))
