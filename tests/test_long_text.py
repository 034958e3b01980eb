"""Free text cut for staff views: a marker with the full length, Spanish or English."""

from mailtriage.display_names import MAX_SHOWN_CHARS, answers_text, shown_text
from mailtriage.i18n import set_language


def test_short_text_unchanged():
    set_language("es")

    assert shown_text("me siento mejor") == "me siento mejor"
    assert shown_text("a" * MAX_SHOWN_CHARS) == "a" * MAX_SHOWN_CHARS


def test_long_text_cut_with_length():
    set_language("es")

    shown = shown_text("a" * 880_665)

    assert shown.startswith("a" * MAX_SHOWN_CHARS + "…")
    assert shown.endswith("(recortado, 880665 caracteres)")


def test_long_text_marker_in_english():
    set_language("en")
    try:
        assert shown_text("b" * 600).endswith("… (cut, 600 characters)")
    finally:
        set_language("es")


def test_long_comment_and_unreadable_cut():
    set_language("es")

    text = answers_text({"comments": "c" * 10_000}, {"temperature": {"raw": "t" * 9_000, "why": "?"}})

    assert len(text) < 2 * MAX_SHOWN_CHARS + 200
    assert "10000 caracteres" in text
    assert "9000 caracteres" in text
