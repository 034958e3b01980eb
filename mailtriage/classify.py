"""Telling messages that are not answers apart: bounces and automatic replies.

The signals are those of RFC 3464 (multipart/report), RFC 3834
(Auto-Submitted) and the de-facto headers and subjects autoresponders use.
Each check returns the reason for staff, or "" when the message is not one.
"""

import email.message
import re

from mailtriage.textnorm import fold

_BOUNCE_SENDERS = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
_VACATION_SUBJECT = re.compile(
    r"\b(?:respuesta automatica|fuera de la oficina|out of (?:the )?office|automatic reply|"
    r"auto-?reply|autorespuesta|respuesta de ausencia)\b")
_LIST_PRECEDENCE = ("bulk", "junk", "list")


def bounce_reason(message: email.message.Message, sender: str) -> str:
    """Return why the message is a delivery status notification, or ""."""
    if message.get_content_type() == "multipart/report":
        return "Content-Type: multipart/report"
    if _BOUNCE_SENDERS.match(sender):
        return f"From: {sender.split('@')[0]}"
    return_path = message.get("Return-Path")
    if return_path is not None and str(return_path).strip() in ("<>", ""):
        return "Return-Path: <>"
    return ""


def autoreply_reason(message: email.message.Message, subject: str) -> str:
    """Return why the message is an automatic reply, or ""."""
    auto_submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for header in ("X-Autoreply", "X-Autorespond"):
        if message.get(header) is not None:
            return f"{header}: {str(message.get(header)).strip()}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in _LIST_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _VACATION_SUBJECT.search(fold(subject)):
        return "Subject"
    return ""
