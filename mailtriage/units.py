"""Mirror the configured units into the database, so patients and reports can refer to them."""

from mailtriage.models import Unit


def sync_units(config) -> None:
    for unit in config.units:
        Unit.insert(code=unit.code, name=unit.name, timezone=unit.timezone).on_conflict(
            conflict_target=[Unit.code],
            update={Unit.name: unit.name, Unit.timezone: unit.timezone},
        ).execute()
