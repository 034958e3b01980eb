"""`mailtriage patients`: enrol, list, show, import, edit and discharge patients."""

import sys
from pathlib import Path

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
        function = click.option(name, metavar=tr("TEXTO", "TEXT"), help=help_text)(function)
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
    "Registra un paciente y deja en la bandeja de salida su bienvenida con el primer "
    "cuestionario. El servicio lo envía en su siguiente pasada; para enviarlo ya, use "
    "«mailtriage questionnaires send».\n\n"
    "Ejemplo: mailtriage patients add --first-name Ana --last-name López --birth-date 1980-05-02 "
    "--sex F --unit UMF-12 --email ana@example.org --phone 6121234567",
    "Enrol a patient and queue the welcome with the first questionnaire in the outbox. "
    "The service sends it on its next pass; to send it now, use "
    "'mailtriage questionnaires send'.\n\n"
    "Example: mailtriage patients add --first-name Ana --last-name López --birth-date 1980-05-02 "
    "--sex F --unit UMF-12 --email ana@example.org --phone 6121234567"))
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
    "Ejemplo: mailtriage patients list --unit UMF-12",
    "List the patients under monitoring with their last color and its date.\n\n"
    "Example: mailtriage patients list --unit UMF-12"))
@click.option("--unit", help=tr("Solo esta unidad.", "Only this unit."))
@click.option("--all", "include_discharged", is_flag=True,
              help=tr("Incluye también a los pacientes dados de alta.", "Also include discharged patients."))
@pass_app
def list_patients(app, unit, include_discharged):
    from mailtriage.enrolment import find_unit_code, unknown_unit_message
    from mailtriage.errors import NotFoundError
    from mailtriage.patients_view import monitored_patients, patient_rows

    app.database
    unit_code = find_unit_code(app.config, unit) if unit else None
    if unit and unit_code is None:
        raise NotFoundError(unknown_unit_message(app.config, unit))
    rows = patient_rows(monitored_patients(unit_code, include_discharged))
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


def load_patient(patient_id: int):
    from mailtriage.errors import NotFoundError
    from mailtriage.models import Patient

    patient = Patient.get_or_none(Patient.id == patient_id)
    if patient is None:
        raise NotFoundError(tr("no existe el paciente {id}; vea «mailtriage patients list»",
                               "patient {id} not found; see 'mailtriage patients list'", id=patient_id))
    return patient


def profile_lines(patient) -> list[str]:
    from mailtriage.display_names import COMORBIDITY_NAMES, display_list, yes_no
    from mailtriage.patients_view import status_name

    return [
        tr("Paciente {id}: {n}", "Patient {id}: {n}", id=patient.id, n=patient.full_name),
        tr("Unidad: {u}   Estado: {s}", "Unit: {u}   Status: {s}",
           u=patient.unit.code, s=status_name(patient.status)),
        tr("Nacimiento: {b}   Sexo: {x}   Inicio de síntomas: {o}",
           "Born: {b}   Sex: {x}   Symptom onset: {o}",
           b=patient.birth_date, x=patient.sex, o=patient.onset_date or "-"),
        tr("Correo: {e}   Teléfono: {t}   Contacto alterno: {a}",
           "Email: {e}   Phone: {t}   Alternative contact: {a}",
           e=patient.email, t=patient.phone, a=patient.alt_contact or "-"),
        tr("Comorbilidades: {c}   Oxímetro: {o}   SpO2 basal: {b}",
           "Comorbidities: {c}   Oximeter: {o}   Baseline SpO2: {b}",
           c=display_list(COMORBIDITY_NAMES, patient.comorbidities), o=yes_no(patient.has_oximeter),
           b=patient.baseline_spo2 or "-"),
    ]


@patients.command(help=tr(
    "Muestra el perfil y la historia del paciente ID: reportes con su semáforo, respuestas y "
    "motivos, llamadas y notas, de la más antigua a la más reciente.\n\n"
    "Ejemplo: mailtriage patients show 12",
    "Show patient ID's profile and history: reports with their color, answers and reasons, "
    "calls and notes, oldest first.\n\nExample: mailtriage patients show 12"))
@click.argument("patient_id", metavar="ID", type=int)
@pass_app
def show(app, patient_id):
    from mailtriage.patients_view import timeline

    app.database
    patient = load_patient(patient_id)
    click.echo("\n".join(profile_lines(patient)))
    click.echo("")
    for moment, text in timeline(patient):
        click.echo(f"{moment}  {text}")


@patients.command(help=tr(
    "Corrige datos del paciente ID; solo cambian los campos indicados. Un campo opcional se "
    "borra con un valor vacío, p. ej. --onset-date \"\".\n\n"
    "Ejemplo: mailtriage patients edit 12 --phone 6127654321",
    "Correct patient ID's data; only the given fields change. An optional field is cleared "
    "with an empty value, e.g. --onset-date \"\".\n\n"
    "Example: mailtriage patients edit 12 --phone 6127654321"))
@click.argument("patient_id", metavar="ID", type=int)
@profile_options
@staff_option
@pass_app
def edit(app, patient_id, staff, **options):
    from mailtriage.audit import current_actor
    from mailtriage.display_names import FIELD_NAMES, display_list
    from mailtriage.enrolment import edit_patient

    app.database
    patient = load_patient(patient_id)
    changed = edit_patient(patient, options_to_fields(options), app.config, current_actor(staff))
    if not changed:
        click.echo(tr("Sin cambios.", "No changes."))
        return
    click.echo(tr("Paciente {id} actualizado: {f}.", "Patient {id} updated: {f}.",
                  id=patient.id, f=display_list(FIELD_NAMES, sorted(changed))))


@patients.command(help=tr(
    "Registra el alta médica del paciente ID y detiene los cuestionarios. Se rechaza mientras "
    "haya llamadas pendientes en la lista, salvo con --force.\n\n"
    "Ejemplo: mailtriage patients discharge 12 --reason recuperado --staff \"Dra. Ruiz\"",
    "Record patient ID's medical discharge and stop the questionnaires. Rejected while calls "
    "are pending on the call list, unless --force.\n\n"
    "Example: mailtriage patients discharge 12 --reason recovered --staff \"Dr. Ruiz\""))
@click.argument("patient_id", metavar="ID", type=int)
@click.option("--reason", required=True, metavar=tr("MOTIVO", "REASON"),
              help=tr("Motivo: recuperado, hospitalizado, referido, rechazo o defunción "
                      "(también en inglés: recovered, hospitalised, referred, declined, deceased).",
                      "Reason: recovered, hospitalised, referred, declined or deceased "
                      "(or in Spanish: recuperado, hospitalizado, referido, rechazo, defunción)."))
@click.option("--force", is_flag=True,
              help=tr("Da de alta aunque haya llamadas pendientes (las cierra).",
                      "Discharge even with pending calls (closes them)."))
@staff_option
@pass_app
def discharge(app, patient_id, reason, force, staff):
    from mailtriage.audit import current_actor
    from mailtriage.discharge import discharge_patient
    from mailtriage.display_names import DISCHARGE_REASON_NAMES, display_name

    app.database
    patient = discharge_patient(patient_id, reason, current_actor(staff), force=force)
    click.echo(tr("Paciente {id} dado de alta ({r}); ya no recibirá cuestionarios.",
                  "Patient {id} discharged ({r}); no more questionnaires will be sent.",
                  id=patient.id, r=display_name(DISCHARGE_REASON_NAMES, patient.discharge_reason)))


@patients.command("import", help=tr(
    "Registra la lista de pacientes de un archivo CSV o XLSX (una fila por paciente, con "
    "encabezados como nombre, apellidos, fecha_nacimiento, sexo, unidad, correo, telefono). "
    "Primero se revisan todas las filas; si alguna no es válida no se registra nada, salvo "
    "con --skip-invalid.\n\nEjemplo: mailtriage patients import lista-2026-12-04.xlsx",
    "Enrol the patients listed in a CSV or XLSX file (one row per patient, with headers such "
    "as first_name, last_name, birth_date, sex, unit, email, phone). Every row is checked "
    "first; if any is invalid nothing is enrolled, unless --skip-invalid.\n\n"
    "Example: mailtriage patients import list-2026-12-04.xlsx"))
@click.argument("file", metavar=tr("ARCHIVO", "FILE"),
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True,
              help=tr("Registra las filas válidas y omite las demás.",
                      "Enrol the valid rows and leave out the others."))
@staff_option
@pass_app
def import_patients(app, file, skip_invalid, staff):
    from mailtriage.audit import current_actor
    from mailtriage.patients_import import ImportFileError, plan_import, run_import

    app.database
    plan = plan_import(file, app.config)
    for line, reason in plan.invalid:
        click.echo(tr("Línea {n}: {r}", "Line {n}: {r}", n=line, r=reason), err=True)
    if plan.invalid and not skip_invalid:
        raise ImportFileError(tr(
            "{f}: {n} fila(s) no válida(s); no se registró ningún paciente. Corrija el archivo o "
            "use --skip-invalid", "{f}: {n} invalid row(s); no patient was enrolled. Fix the file "
            "or use --skip-invalid", f=file.name, n=len(plan.invalid)))

    actor = current_actor(staff)
    if sys.stderr.isatty():
        with click.progressbar(length=len(plan.valid), label=tr("Registrando", "Enrolling"),
                               file=sys.stderr) as bar:
            ids = run_import(plan, app.config, actor, file.name, progress=bar.update)
    else:
        ids = run_import(plan, app.config, actor, file.name)
    click.echo(tr("{n} paciente(s) registrado(s); {s} fila(s) omitida(s).",
                  "{n} patient(s) enrolled; {s} row(s) left out.", n=len(ids), s=len(plan.invalid)))
