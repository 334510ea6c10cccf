"""Working days against the Hong Kong and Mainland public-holiday data."""

from __future__ import annotations

from datetime import date

import pytest

from bayflow.compliance.errors import CalendarIncomplete, RulesTableInvalid
from bayflow.compliance.models import Region
from bayflow.compliance.workdays import HolidayCalendar, calendar_for

HK = calendar_for(Region.HK)
CN = calendar_for(Region.CN)


class TestHongKongCalendar:
    """Hong Kong counts Monday to Friday outside the gazetted general holidays."""

    @pytest.mark.parametrize(
        "day",
        [date(2025, 1, 29), date(2025, 10, 7), date(2026, 2, 17), date(2026, 4, 7)],
    )
    def test_gazetted_general_holidays_are_not_working_days(self, day: date) -> None:
        assert not HK.is_working_day(day)

    def test_saturdays_are_not_working_days_for_filing(self) -> None:
        assert not HK.is_working_day(date(2026, 3, 7))

    def test_ten_working_days_skip_the_lunar_new_year(self) -> None:
        deadline = HK.add_working_days(date(2026, 2, 13), 10)
        assert deadline.due == date(2026, 3, 4)
        assert not deadline.uncertain

    def test_easter_and_ching_ming_2026_take_four_days_out(self) -> None:
        # 3 Apr Good Friday, 4 Apr Saturday, 6 Apr (Ching Ming in lieu), 7 Apr (Easter in lieu).
        assert HK.add_working_days(date(2026, 4, 2), 1).due == date(2026, 4, 8)

    def test_a_count_through_computed_2027_dates_is_marked_uncertain(self) -> None:
        deadline = HK.add_working_days(date(2027, 2, 5), 10)
        assert deadline.uncertain


class TestMainlandCalendar:
    """The Mainland counts its adjusted weekend working days and skips its holiday weeks."""

    def test_an_adjusted_saturday_is_a_working_day(self) -> None:
        assert CN.is_working_day(date(2026, 2, 14))
        assert CN.is_working_day(date(2025, 10, 11))

    def test_the_spring_festival_week_is_not(self) -> None:
        assert not any(CN.is_working_day(date(2026, 2, d)) for d in range(15, 24))

    def test_ten_working_days_across_spring_festival_2026(self) -> None:
        assert CN.add_working_days(date(2026, 2, 13), 10).due == date(2026, 3, 5)

    def test_ten_working_days_across_national_day_2025(self) -> None:
        assert CN.add_working_days(date(2025, 9, 26), 10).due == date(2025, 10, 16)

    def test_the_effective_date_itself_is_not_counted(self) -> None:
        assert CN.add_working_days(date(2026, 3, 2), 1).due == date(2026, 3, 3)


class TestCalendarData:
    """Calendars refuse what they do not cover and data that cannot be right."""

    def test_a_year_without_data_raises_instead_of_guessing(self) -> None:
        with pytest.raises(CalendarIncomplete, match="2028"):
            CN.add_working_days(date(2027, 12, 24), 10)

    def test_every_year_names_its_source(self) -> None:
        for calendar in (HK, CN):
            assert calendar.years == {2025, 2026, 2027}
            assert all(calendar.sources[y] for y in calendar.years)

    def test_an_adjusted_working_day_on_a_weekday_is_refused(self) -> None:
        text = (
            "region: CN\nweekend: [saturday, sunday]\nyears:\n  2026:\n    source: x\n"
            "    holidays: []\n    working_days: [2026-03-04]\n"
        )
        with pytest.raises(RulesTableInvalid, match="not a weekend day"):
            HolidayCalendar.from_yaml(text)

    def test_macao_counts_weekends_only(self) -> None:
        macao = calendar_for(Region.MO)
        assert macao.add_working_days(date(2026, 2, 13), 10).due == date(2026, 2, 27)

    def test_counting_zero_days_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            HK.add_working_days(date(2026, 1, 5), 0)
