"""The questionnaire's question set: numbers, keys, answer types and wording.

The numbered lines are the contract with patients' mail clients: the
parser reads answers by these numbers and prompts, the questionnaire
template prints them, and the reply's "could not read" block names them by
number and short name. A deployment may reorder, drop or reword questions
through the config; the numbers follow the configured order.
"""

from dataclasses import dataclass

from mailtriage.i18n import current_language

# Answer types. yes_no -> bool; temperature -> float °C; spo2 -> float %;
# dyspnea -> 0..3 (letters A..D); trend -> better | same | worse; text -> str.
YES_NO = "yes_no"
TEMPERATURE = "temperature"
SPO2 = "spo2"
DYSPNEA = "dyspnea"
TREND = "trend"
TEXT = "text"


@dataclass(frozen=True)
class Question:
    key: str
    kind: str
    prompt_es: str
    prompt_en: str
    short_es: str
    short_en: str
    optional: bool = False
    alarm: bool = False

    def prompt(self, language: str | None = None) -> str:
        return self.prompt_en if (language or current_language()) == "en" else self.prompt_es

    def short_name(self, language: str | None = None) -> str:
        return self.short_en if (language or current_language()) == "en" else self.short_es


DEFAULT_QUESTIONS: tuple[Question, ...] = (
    Question("fever", YES_NO,
             "¿Ha tenido fiebre o calentura desde su último cuestionario? (SI/NO):",
             "Have you had a fever since your last questionnaire? (YES/NO):",
             "fiebre", "fever"),
    Question("temperature_c", TEMPERATURE,
             "Temperatura más alta que midió desde su último cuestionario, en °C "
             "(si no la midió, déjelo en blanco):",
             "Highest temperature you measured since your last questionnaire, in °C "
             "(leave it blank if you did not measure it):",
             "temperatura", "temperature", optional=True),
    Question("fever_unresponsive", YES_NO,
             "Si tuvo fiebre: ¿seguía alta una hora después de tomar paracetamol? (SI/NO):",
             "If you had a fever: was it still high one hour after taking paracetamol? (YES/NO):",
             "fiebre después del paracetamol", "fever after paracetamol", optional=True),
    Question("cough", YES_NO, "¿Tiene tos? (SI/NO):", "Do you have a cough? (YES/NO):",
             "tos", "cough"),
    Question("headache", YES_NO, "¿Tiene dolor de cabeza? (SI/NO):",
             "Do you have a headache? (YES/NO):", "dolor de cabeza", "headache"),
    Question("sore_throat", YES_NO, "¿Tiene dolor de garganta? (SI/NO):",
             "Do you have a sore throat? (YES/NO):", "dolor de garganta", "sore throat"),
    Question("body_aches", YES_NO, "¿Tiene dolor de músculos o de articulaciones? (SI/NO):",
             "Do you have muscle or joint pain? (YES/NO):",
             "dolor de músculos", "muscle pain"),
    Question("smell_taste_loss", YES_NO, "¿Ha perdido el olfato o el gusto? (SI/NO):",
             "Have you lost your sense of smell or taste? (YES/NO):",
             "olfato o gusto", "smell or taste"),
    Question("diarrhea_vomiting", YES_NO, "¿Tiene diarrea o vómito? (SI/NO):",
             "Do you have diarrhoea or vomiting? (YES/NO):",
             "diarrea o vómito", "diarrhoea or vomiting"),
    Question("dyspnea_level", DYSPNEA,
             "¿Cómo está su respiración? Escriba la letra. A: normal. B: me falta un poco el "
             "aire con esfuerzos, como subir escaleras. C: me falta el aire al caminar unos "
             "pasos, al vestirme o al hablar. D: me falta el aire aun sentado(a) o acostado(a):",
             "How is your breathing? Write the letter. A: normal. B: a little short of breath "
             "on effort, such as climbing stairs. C: short of breath walking a few steps, "
             "dressing or talking. D: short of breath even sitting or lying down:",
             "respiración", "breathing", alarm=True),
    Question("chest_pain", YES_NO,
             "¿Tiene dolor o presión en el pecho que no se quita? (SI/NO):",
             "Do you have chest pain or pressure that does not go away? (YES/NO):",
             "dolor en el pecho", "chest pain", alarm=True),
    Question("cyanosis", YES_NO,
             "¿Tiene los labios, la cara o las uñas de color azulado o morado? (SI/NO):",
             "Are your lips, face or nails bluish or purple? (YES/NO):",
             "labios o uñas morados", "bluish lips or nails", alarm=True),
    Question("confusion", YES_NO,
             "¿Está confundido(a) o le cuesta mucho despertar o mantenerse despierto(a)? (SI/NO):",
             "Are you confused, or is it very hard to wake up or stay awake? (YES/NO):",
             "confusión o somnolencia", "confusion or drowsiness", alarm=True),
    Question("other_alarm", YES_NO,
             "¿Se ha desmayado, ha tosido sangre, vomita todo lo que toma o lleva 12 horas sin "
             "orinar? (SI/NO):",
             "Have you fainted, coughed up blood, vomited everything you drink, or gone 12 hours "
             "without passing urine? (YES/NO):",
             "desmayo, sangre, vómito u orina", "fainting, blood, vomiting or urine", alarm=True),
    Question("spo2", SPO2,
             "Si tiene oxímetro: oxigenación (saturación de oxígeno, SpO2) en %:",
             "If you have an oximeter: oxygen saturation (SpO2) in %:",
             "oxigenación", "oxygen saturation", optional=True),
    Question("overall_trend", TREND,
             "Comparado con ayer, ¿cómo se siente? (MEJOR/IGUAL/PEOR):",
             "Compared with yesterday, how do you feel? (BETTER/SAME/WORSE):",
             "cómo se siente", "how you feel"),
    Question("wants_call", YES_NO,
             "¿Quiere que el personal de salud le llame hoy? (SI/NO):",
             "Would you like the health staff to call you today? (YES/NO):",
             "llamada", "call"),
    Question("comments", TEXT, "Comentarios:", "Comments:", "comentarios", "comments",
             optional=True),
)

ALL_KEYS = tuple(question.key for question in DEFAULT_QUESTIONS)


def question_number(key: str, questions: tuple[Question, ...] = DEFAULT_QUESTIONS) -> int:
    """Return the 1-based number a question has in the configured order."""
    for number, question in enumerate(questions, start=1):
        if question.key == key:
            return number
    raise KeyError(key)


def describe_questions(keys, questions: tuple[Question, ...] = DEFAULT_QUESTIONS) -> str:
    """Name questions for a patient, by number and short name: "10 (respiración), 15 (oxigenación)"."""
    by_key = {question.key: question for question in questions}
    numbered = sorted((question_number(key, questions), by_key[key]) for key in keys if key in by_key)
    return ", ".join(f"{number} ({question.short_name()})" for number, question in numbered)
