"""Telling messages that are not answers apart: bounces and automatic replies.

The signals are those of RFC 3464 (multipart/report), RFC 3834
(Auto-Submitted) and the de-facto headers and subjects autoresponders use.
Each check returns the reason for staff, or "" when the message is not one.
"""

import re

from mailtriage.textnorm import fold

_BOUNCE_SENDERS = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
_VACATION_SUBJECT = re.compile(
    r"\b(?:respuesta automatica|fuera de la oficina|out of (?:the )?office|automatic reply|"
    r"auto-?reply|autorespuesta|respuesta de ausencia)\b")
_LIST_PRECEDENCE = ("bulk", "junk", "list")


def bounce_reason(fields: dict[str, list[str]], content_type: str, sender: str) -> str:
    """Return why the message is a delivery status notification, or "".

    ``fields`` maps lower-case header names to their values.
    """
    if content_type == "multipart/report":
        return "Content-Type: multipart/report"
    if _BOUNCE_SENDERS.match(sender):
        return f"From: {sender.split('@')[0]}"
    return_paths = fields.get("return-path")
    if return_paths and return_paths[0].strip() in ("<>", ""):
        return "Return-Path: <>"
    return ""


def autoreply_reason(fields: dict[str, list[str]], subject: str) -> str:
    """Return why the message is an automatic reply, or ""."""
    auto_submitted = _first(fields, "auto-submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for header in ("x-autoreply", "x-autorespond", "list-id"):
        if header in fields:
            return f"{header}: {_first(fields, header)}"
    precedence = _first(fields, "precedence").lower()
    if precedence in _LIST_PRECEDENCE:
        return f"Precedence: {precedence}"
    vacation = _VACATION_SUBJECT.search(fold(subject))
    if vacation:
        return f"Subject: {vacation.group(0)}"
    return ""


def _first(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name)
    return values[0].strip() if values else ""
