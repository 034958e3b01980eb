"""`mailtriage patients`: enrol, list, show, import, edit and discharge patients."""

import click

from mailtriage.cli.common import pass_app
from mailtriage.i18n import tr


def staff_option(function):
    return click.option(
        "--staff", metavar=tr("NOMBRE", "NAME"),
        help=tr("Quién hace el cambio (por omisión, el usuario del sistema).",
                "Who makes the change (default: the operating-system user)."))(function)


def profile_options(function):
    """Add one option per enrolment field; every option is optional so `edit` can reuse them."""
    options = [
        ("--first-name", tr("Nombre(s) del paciente.", "Patient's first name.")),
        ("--last-name", tr("Apellidos del paciente.", "Patient's last name.")),
        ("--birth-date", tr("Fecha de nacimiento, AAAA-MM-DD o DD/MM/AAAA.",
                            "Birth date, YYYY-MM-DD or DD/MM/YYYY.")),
        ("--sex", tr("Sexo: F o M.", "Sex: F or M.")),
        ("--onset-date", tr("Fecha de inicio de síntomas (opcional).", "Symptom onset date (optional).")),
        ("--pregnant", tr("Embarazo actual: sí o no.", "Currently pregnant: yes or no.")),
        ("--delivery-date", tr("Fecha de parto reciente (opcional).", "Recent delivery date (optional).")),
        ("--comorbidities", tr("Comorbilidades separadas por comas, p. ej. «diabetes,hipertension».",
                               "Comorbidities separated by commas, e.g. 'diabetes,hypertension'.")),
        ("--unit", tr("Clave de la unidad médica (una de la configuración).",
                      "Medical unit code (one from the configuration).")),
        ("--email", tr("Correo electrónico del paciente.", "Patient's email address.")),
        ("--phone", tr("Teléfono del paciente, 10 dígitos.", "Patient's phone number, 10 digits.")),
        ("--alt-contact", tr("Contacto alterno: nombre y teléfono de un familiar.",
                             "Alternative contact: name and phone of a relative.")),
        ("--has-oximeter", tr("Tiene oxímetro en casa: sí o no.", "Has an oximeter at home: yes or no.")),
        ("--baseline-spo2", tr("SpO2 basal fijada por el médico, entero de 50 a 100 (opcional).",
                               "Baseline SpO2 set by the physician, a whole number 50–100 (optional).")),
        ("--nss", tr("Número de seguridad social, 11 dígitos (opcional).",
                     "Social security number (NSS), 11 digits (optional).")),
        ("--language", tr("Idioma de los correos: es o en.", "Language of the emails: es or en.")),
    ]
    for name, help_text in reversed(options):
        function = click.option(name, help=help_text)(function)
    return function


# CLI option names to enrolment field names, where they differ.
OPTION_FIELDS = {"nss": "social_security_number"}


def options_to_fields(options: dict) -> dict:
    """Return the enrolment fields given on the command line, under their profile names."""
    return {OPTION_FIELDS.get(name, name): value for name, value in options.items() if value is not None}


@click.group(help=tr("Registra y consulta pacientes en seguimiento.",
                     "Enrol and look up patients under monitoring."))
def patients():
    pass


@patients.command(help=tr(
    "Registra un paciente y le envía el primer cuestionario.\n\n"
    "Ejemplo: mailtriage patients add --first-name Ana --last-name López --birth-date 1980-05-02 "
    "--sex F --unit UMF1 --email ana@example.org --phone 6121234567",
    "Enrol a patient and send the first questionnaire.\n\n"
    "Example: mailtriage patients add --first-name Ana --last-name López --birth-date 1980-05-02 "
    "--sex F --unit UMF1 --email ana@example.org --phone 6121234567"))
@profile_options
@staff_option
@pass_app
def add(app, staff, **options):
    from mailtriage.audit import current_actor
    from mailtriage.enrolment import enrol_patient, validate_profile

    app.database
    fields = options_to_fields(options)
    if "unit" not in fields and len(app.config.units) == 1:
        fields["unit"] = app.config.units[0].code

    profile = validate_profile(fields, app.config)
    patient = enrol_patient(profile, app.config, current_actor(staff))
    click.echo(tr("Paciente {id} registrado en la unidad {unidad}; primer cuestionario en la "
                  "bandeja de salida.",
                  "Patient {id} enrolled in unit {unidad}; first questionnaire queued.",
                  id=patient.id, unidad=profile.unit_code))


@patients.command("list", help=tr(
    "Lista los pacientes en seguimiento con su último semáforo y su fecha.\n\n"
    "Ejemplo: mailtriage patients list --unit UMF1",
    "List the patients under monitoring with their last color and its date.\n\n"
    "Example: mailtriage patients list --unit UMF1"))
@click.option("--unit", help=tr("Solo esta unidad.", "Only this unit."))
@click.option("--all", "include_discharged", is_flag=True,
              help=tr("Incluye también a los pacientes dados de alta.", "Also include discharged patients."))
@pass_app
def list_patients(app, unit, include_discharged):
    from mailtriage.patients_view import monitored_patients, patient_rows

    app.database
    rows = patient_rows(monitored_patients(unit, include_discharged))
    if not rows:
        click.echo(tr("No hay pacientes en seguimiento.", "No patients under monitoring."))
        return

    header = (tr("ID", "ID"), tr("Unidad", "Unit"), tr("Paciente", "Patient"),
              tr("Estado", "Status"), tr("Último semáforo", "Last color"), tr("Fecha", "Date"))
    click.echo(format_table([header] + rows))


def format_table(rows: list[tuple]) -> str:
    """Return rows as left-aligned text columns."""
    widths = [max(len(str(row[column])) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    return "\n".join(lines)
