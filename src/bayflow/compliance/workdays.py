"""Working days in Hong Kong and the Mainland, for standard-contract filing deadlines.

A GBA Standard Contract is filed "within 10 working days" of taking effect, by each party where
it is: the Mainland party with the Guangdong Provincial Cyberspace Office, the Hong Kong party
with the Digital Policy Office. Working days differ between the two: Hong Kong has its general
holidays; the Mainland has its public holidays and also *adjusted working days*, weekend days
the State Council makes working days to bridge a holiday. The calendars are data files
(``calendars/*.yaml``) with their sources and with uncertain dates marked.

The count starts on the day after the effective date: the deadline is the n-th working day
after it. A year the data does not cover raises :class:`CalendarIncomplete` rather than guess.
Macao's holidays are not modelled: a Macao party's deadline counts weekends only, which can only
make it earlier than the real one. Not legal advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any, Final

import yaml

from bayflow.compliance.errors import CalendarIncomplete, RulesTableInvalid
from bayflow.compliance.models import Region

__all__ = ["CALENDAR_FILES", "Deadline", "HolidayCalendar", "calendar_for"]

CALENDAR_FILES: Final = {Region.HK: "hong-kong.yaml", Region.CN: "mainland.yaml"}
_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The longest run of non-working days in any calendar is well under this; a loop that gets
# this far means the data is broken, not that the deadline is far away.
_MAX_SCAN_DAYS: Final = 400


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline. ``uncertain`` when the count crossed a date marked uncertain."""

    region: Region
    due: date
    uncertain: bool


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """One region's non-working days for the years it covers.

    ``holidays`` maps a date to its name; ``working_days`` are weekend days that are working
    days; ``uncertain`` are the dates not checked against an official notice.
    """

    region: Region
    years: frozenset[int]
    weekend: frozenset[int]
    holidays: Mapping[date, str]
    working_days: frozenset[date]
    uncertain: frozenset[date]
    sources: Mapping[int, str]

    @classmethod
    def weekends_only(cls, region: Region) -> HolidayCalendar:
        """A calendar with no holidays for any year: counts weekends only."""
        return cls(region, frozenset(), frozenset({5, 6}), {}, frozenset(), frozenset(), {})

    @classmethod
    def packaged(cls, region: Region) -> HolidayCalendar:
        name = CALENDAR_FILES[region]
        text = resources.files("bayflow.compliance").joinpath("calendars", name).read_text("utf-8")
        return cls.from_yaml(text)

    @classmethod
    def from_yaml(cls, text: str) -> HolidayCalendar:
        try:
            document = yaml.safe_load(text)
            return cls._parse(document)
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise RulesTableInvalid(f"holiday calendar is malformed: {exc}") from exc

    @classmethod
    def _parse(cls, document: Any) -> HolidayCalendar:
        region = Region(document["region"])
        weekend = frozenset(_WEEKDAYS.index(day) for day in document["weekend"])
        holidays: dict[date, str] = {}
        working: set[date] = set()
        uncertain: set[date] = set()
        sources: dict[int, str] = {}
        for year, body in document["years"].items():
            sources[int(year)] = " ".join(str(body["source"]).split())
            for entry in body["holidays"]:
                first = entry.get("date", entry.get("from"))
                last = entry.get("date", entry.get("to"))
                if not isinstance(first, date) or not isinstance(last, date) or last < first:
                    raise ValueError(f"bad holiday entry {entry!r}")
                day = first
                while day <= last:
                    if day.year != int(year):
                        raise ValueError(f"{day} is listed under {year}")
                    holidays[day] = str(entry["name"])
                    if entry.get("uncertain", False):
                        uncertain.add(day)
                    day += timedelta(days=1)
            for day in body.get("working_days", []):
                if not isinstance(day, date) or day.weekday() not in weekend:
                    raise ValueError(f"adjusted working day {day!r} is not a weekend day")
                working.add(day)
        return cls(
            region=region,
            years=frozenset(sources),
            weekend=weekend,
            holidays=holidays,
            working_days=frozenset(working),
            uncertain=frozenset(uncertain),
            sources=sources,
        )

    def _covers(self, day: date) -> None:
        if self.years and day.year not in self.years:
            covered = ", ".join(str(y) for y in sorted(self.years))
            raise CalendarIncomplete(
                f"no {self.region.value} public-holiday data for {day.year} (covered: {covered})"
            )

    def is_working_day(self, day: date) -> bool:
        self._covers(day)
        if day in self.working_days:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The ``days``-th working day after ``start`` (``start`` itself is not counted)."""
        if days < 1:
            raise ValueError("count at least one working day")
        day, counted, uncertain = start, 0, False
        for _ in range(days * 7 + _MAX_SCAN_DAYS):
            day += timedelta(days=1)
            uncertain = uncertain or day in self.uncertain
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return Deadline(self.region, day, uncertain)
        raise CalendarIncomplete(
            f"the {self.region.value} calendar has no working days near {start}"
        )


def calendar_for(region: Region) -> HolidayCalendar:
    """The packaged calendar for a filing party's region (weekends only for Macao)."""
    if region in CALENDAR_FILES:
        return HolidayCalendar.packaged(region)
    return HolidayCalendar.weekends_only(region)
