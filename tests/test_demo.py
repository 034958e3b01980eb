"""The demo runs end to end in a subprocess and prints what staff and patients would see."""

import os
import subprocess
import sys

import pytest

# A guard against a hung demo, not a benchmark: the demo takes a few seconds.
DEMO_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo-home")
    environment = {**os.environ, "MAILTRIAGE_HOME": str(home), "TMPDIR": str(home)}
    environment.pop("MAILTRIAGE_CONFIG", None)
    environment.pop("MAILTRIAGE_LANG", None)

    result = subprocess.run([sys.executable, "-m", "mailtriage.demo"], capture_output=True,
                            text=True, env=environment, timeout=DEMO_TIMEOUT_SECONDS)
    result.home = home
    return result


def section(output: str, title: str) -> str:
    """Return the text under the ``== title ==`` heading, up to the next heading."""
    start = output.index(f"== {title} ==")
    end = output.find("\n== ", start + 1)
    return output[start:end if end != -1 else None]


def test_demo_exits_zero(demo_run):
    assert demo_run.returncode == 0, demo_run.stderr[-3000:]


def test_demo_prints_every_patient(demo_run):
    table = section(demo_run.stdout, "Semáforo de cada paciente")

    for name in ("María Fernanda Ruiz Ochoa", "José Luis Cárdenas Peña", "Guadalupe Soto Villa",
                 "Ricardo Ibarra Leal", "Carmen Aguilar Ríos", "Héctor Manuel Vega Luna",
                 "Silvia Navarro Cruz", "Andrés Morales Gil"):
        assert name in table
    for color in ("verde", "amarillo", "rojo"):
        assert color in table


def test_demo_red_sign_and_autoreply(demo_run):
    lines = section(demo_run.stdout, "Semáforo de cada paciente").splitlines()

    hector = next(line for line in lines if line.startswith("Héctor Manuel Vega Luna"))
    carmen = next(line for line in lines if line.startswith("Carmen Aguilar Ríos"))
    assert "rojo" in hector
    assert "sin reporte" in carmen
    assert "respuesta automática" in carmen


def test_demo_unreadable_alarm_item_never_green(demo_run):
    lines = section(demo_run.stdout, "Semáforo de cada paciente").splitlines()

    silvia = next(line for line in lines if line.startswith("Silvia Navarro Cruz"))
    assert "verde" not in silvia


def test_demo_shows_a_reply_as_sent(demo_run):
    reply = section(demo_run.stdout, "Una respuesta, como la lee el paciente")

    assert "Para: " in reply
    assert "Asunto: Re: " in reply
    assert "Hola, " in reply


def test_demo_lists_yellow_and_red(demo_run):
    listed = section(demo_run.stdout, "Lista de amarillos y rojos (a quién llamar)")

    assert "Héctor Manuel Vega Luna" in listed
    assert "Andrés Morales Gil" not in listed
    assert "Carmen Aguilar Ríos" not in listed


def test_demo_summary_counts(demo_run):
    assert "Mensajes leídos: 8" in demo_run.stdout
    assert "No eran respuestas: 1" in demo_run.stdout


def test_demo_removes_its_temporary_directory(demo_run):
    assert not list(demo_run.home.glob("mailtriage-demo-*"))
