"""mailtriage: COVID-19 self-monitoring by email for medical units."""

__version__ = "0.1.0"
