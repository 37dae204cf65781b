"""Sending e-mail: through the configured SMTP server, only after the request's commit."""
from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage

from flask import current_app, g

log = logging.getLogger(__name__)


def send_mail(cfg: dict, to: str, subject: str, body: str) -> None:
    """Deliver one message through the configured SMTP server; failures are logged, not raised."""
    try:
        message = EmailMessage()
        message["From"] = cfg["MAIL_SENDER"]
        message["To"] = to
        message["Subject"] = " ".join(subject.split())  # no line breaks from user titles
        message.set_content(body)
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        log.error("mail to user could not be sent: %s", exc.__class__.__name__)


def queue_mail(messages: list[tuple[str, str, str]]) -> None:
    """Mail goes out only once the request's transaction is committed (see `send_queued_mail`),
    never about something that was then rolled back; and in the background, so an answer takes
    no longer when there is mail to send."""
    if messages:
        g.setdefault("outbox", []).extend(messages)


def send_queued_mail() -> None:
    """Send what `queue_mail` collected; called right after the commit."""
    messages = g.pop("outbox", None)
    if messages:
        threading.Thread(target=_send_all, args=(current_app.config.copy(), messages),
                         daemon=True).start()


def drop_queued_mail() -> None:
    g.pop("outbox", None)


def _send_all(cfg: dict, messages: list[tuple[str, str, str]]) -> None:
    for to, subject, body in messages:
        send_mail(cfg, to, subject, body)

