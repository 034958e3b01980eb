"""SpO2 bands by patient profile.

The first matching profile decides a patient's bands: a clinician's
baseline (only when it lies below the green floor of the profile the patient
would otherwise have), pregnancy at altitude, pregnancy, altitude, standard.
A band is applied by comparison, so a decimal value falls in exactly one:
red at or below the red maximum, yellow above it up to the yellow maximum,
green above that.
"""

from dataclasses import dataclass

from mailtriage.i18n import tr

STANDARD = "standard"
ALTITUDE = "altitude"
PREGNANCY = "pregnancy"
PREGNANCY_ALTITUDE = "pregnancy_altitude"
BASELINE = "baseline"

# Parameter name prefix of each fixed profile's maxima: SPO2_<prefix>_RED_MAX, SPO2_<prefix>_YELLOW_MAX.
PARAMETER_PREFIX = {
    STANDARD: "SPO2_STANDARD",
    ALTITUDE: "SPO2_ALTITUDE",
    PREGNANCY: "SPO2_PREGNANCY",
    PREGNANCY_ALTITUDE: "SPO2_PREGNANCY_ALTITUDE",
}


@dataclass(frozen=True)
class SpO2Bands:
    """One patient's SpO2 bands: the profile they come from and the red and yellow maxima in %."""

    profile: str
    red_max: float
    yellow_max: float

    @property
    def green_floor(self) -> float:
        return self.yellow_max + 1

    def color_of(self, spo2: float) -> str:
        if spo2 <= self.red_max:
            return "rojo"
        if spo2 <= self.yellow_max:
            return "amarillo"
        return "verde"


def profile_name(profile: str) -> str:
    """Name a profile for staff, as the reason texts show it."""
    names = {
        STANDARD: tr("estándar", "standard"),
        ALTITUDE: tr("altitud", "altitude"),
        PREGNANCY: tr("embarazo", "pregnancy"),
        PREGNANCY_ALTITUDE: tr("embarazo en altitud", "pregnancy at altitude"),
        BASELINE: tr("basal del médico", "physician's baseline"),
    }
    return names.get(profile, profile)


def fixed_profile(pregnancy_profile: bool, altitude_m: int | None, parameters: dict) -> str:
    """Pick the profile from pregnancy and the unit's altitude; an unknown altitude is not altitude."""
    at_altitude = altitude_m is not None and altitude_m >= parameters["ALTITUDE_PROFILE_M"]
    if pregnancy_profile:
        return PREGNANCY_ALTITUDE if at_altitude else PREGNANCY
    return ALTITUDE if at_altitude else STANDARD


def bands_for(pregnancy_profile: bool, altitude_m: int | None, baseline_spo2: int | None,
              parameters: dict) -> SpO2Bands:
    """Return the bands of a patient; a baseline at or above the usual green floor is ignored."""
    profile = fixed_profile(pregnancy_profile, altitude_m, parameters)
    prefix = PARAMETER_PREFIX[profile]
    usual = SpO2Bands(profile, parameters[f"{prefix}_RED_MAX"], parameters[f"{prefix}_YELLOW_MAX"])

    if baseline_spo2 is None or baseline_spo2 >= usual.green_floor:
        return usual
    return SpO2Bands(
        BASELINE,
        red_max=baseline_spo2 - parameters["SPO2_BASELINE_RED_DROP"],
        yellow_max=baseline_spo2 - 1,
    )
