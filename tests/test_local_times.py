"""Local times of units in different zones name their zone, on screen and in exports."""

from datetime import datetime, timezone

from mailtriage.export import local_iso
from mailtriage.patients_view import local_time

# One moment: 21:43 UTC.
ARRIVAL = datetime(2026, 12, 4, 21, 43, tzinfo=timezone.utc)


def test_screen_time_names_zone():
    assert local_time(ARRIVAL, "America/Mexico_City") == "04/12/2026 15:43 CST"
    assert local_time(ARRIVAL, "America/Mazatlan") == "04/12/2026 14:43 MST"
    assert local_time(ARRIVAL, "America/Tijuana") == "04/12/2026 13:43 PST"


def test_screen_time_missing_moment():
    assert local_time(None, "America/Mexico_City") == "-"


def test_export_time_has_offset():
    assert local_iso(ARRIVAL, "America/Mexico_City") == "2026-12-04 15:43-06:00"
    assert local_iso(ARRIVAL, "America/Mazatlan") == "2026-12-04 14:43-07:00"
    assert local_iso(None, "America/Mazatlan") == ""
