"""Dates in questions, relative to the injected clock's today (Wednesday 15 January 2020)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.answering.dates import find_date
from bot.answering.text import prepare

TODAY = date(2020, 1, 15)


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("what happens on 21 February?", date(2020, 2, 21), None),
        ("hva skjer 21. februar?", date(2020, 2, 21), None),
        ("what is on February 21st", date(2020, 2, 21), None),
        ("the 21st of February 2021", date(2021, 2, 21), None),
        ("hva skjer 24/4?", date(2020, 4, 24), None),
        ("møte 21.02.2020", date(2020, 2, 21), None),
        ("what is on 2020-02-21", date(2020, 2, 21), None),
        ("what happens tomorrow?", date(2020, 1, 16), None),
        ("hva skjer i morgen?", date(2020, 1, 16), None),
        ("hva skjer i dag?", TODAY, None),
        ("on Friday", date(2020, 1, 17), None),
        ("på onsdag", TODAY, None),
        ("next wednesday", date(2020, 1, 22), None),
        ("what happens in March?", date(2020, 3, 1), date(2020, 3, 31)),
        ("hva skjer i mars 2021?", date(2021, 3, 1), date(2021, 3, 31)),
        ("hva skjer neste uke?", date(2020, 1, 20), date(2020, 1, 26)),
        ("this week", date(2020, 1, 13), date(2020, 1, 19)),
        ("next month", date(2020, 2, 1), date(2020, 2, 29)),
        # Without a year, the nearest such day: December is last month, not next December.
        ("what happened on 20 December?", date(2019, 12, 20), None),
    ],
)
def test_dates_are_read(question: str, first: date, last: date | None) -> None:
    found = find_date(prepare(question), TODAY)
    assert found is not None
    assert (found.first, found.last) == (first, last or first)


@pytest.mark.parametrize(
    "question",
    [
        "who is Bodø's data contact?",
        "may I ask who leads the network?",  # "may" is a month only next to a day or "in"
        "meeting at kl. 10.00",  # a time, not the 10th of month 0
        "31/2",  # no such day
        "U4SSC",
    ],
)
def test_no_date_where_there_is_none(question: str) -> None:
    assert find_date(prepare(question), TODAY) is None
