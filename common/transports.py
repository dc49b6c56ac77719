"""One transport per channel, as healthchecks' `hc/api/transports.py` (CONVENTIONS.md).

A transport sends one `Notification` or raises. `Permanent` says trying again cannot help (an
address that isn't one, a webhook that answers 404); anything else is retried with backoff by
`common.notifications.deliver`.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMessage, get_connection
from django.core.validators import validate_email

from common.models import Notification

EMAIL_TIMEOUT = 30  # seconds; unless EMAIL_TIMEOUT is set. A hung SMTP server can't hold a worker.
WEBHOOK_TIMEOUT = 10  # seconds
# Answers that a later attempt may not get: the receiver is busy or timed out.
RETRYABLE_HTTP = {408, 425, 429}


SUBJECT_CHARS = 200
# Every character Python splits lines on (CR, LF, VT, FF, FS, GS, RS, NEL, U+2028, U+2029),
# the other control characters, and runs of spaces: one space in a header.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\s]+")


def one_line(text: str, limit: int = SUBJECT_CHARS) -> str:
    """`text` as one header-safe line of at most `limit` characters (an ellipsis marks a cut).

    A line break in a header makes Django raise BadHeaderError, so an incident title with a
    newline would stop the email; here it becomes a space.
    """
    line = _BREAKS.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class Permanent(Exception):  # noqa: N818 - reads as "raise Permanent(...)"
    """A failure that no later attempt can fix: the delivery is failed at once."""


class Transport:
    def send(self, notification: Notification) -> None:
        raise NotImplementedError


class Email(Transport):
    """Plain-text email through Django's mail API (EMAIL_* settings)."""

    def send(self, notification: Notification) -> None:
        try:
            validate_email(notification.recipient)
        except ValidationError:
            raise Permanent(f"“{notification.recipient}” is not an email address.") from None
        message = EmailMessage(
            # Already one line when recorded; again here for rows written by other means.
            subject=one_line(notification.subject),
            body=notification.body,
            to=[notification.recipient],
            # RFC 3834: tells auto-responders not to answer.
            headers={"Auto-Submitted": "auto-generated"},
            connection=get_connection(timeout=settings.EMAIL_TIMEOUT or EMAIL_TIMEOUT),
        )
        try:
            message.send()
        except BadHeaderError as error:
            raise Permanent(str(error)) from None


class Webhook(Transport):
    """An HTTP POST of the payload as JSON, with the body as Slack-compatible `text`."""

    def send(self, notification: Notification) -> None:
        if not notification.recipient.startswith(("http://", "https://")):
            raise Permanent(f"“{notification.recipient}” is not an http(s) URL.")
        payload = {"text": notification.body, **notification.payload}
        request = urllib.request.Request(  # noqa: S310 - the operator's ONCE_WEBHOOK_URL
            notification.recipient,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "Once"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
                response.read(65536)
        except urllib.error.HTTPError as error:
            described = f"HTTP {error.code} {error.reason} from the webhook."
            if 400 <= error.code < 500 and error.code not in RETRYABLE_HTTP:
                raise Permanent(described) from None
            raise OSError(described) from None


TRANSPORTS: dict[str, Transport] = {
    Notification.Channel.EMAIL: Email(),
    Notification.Channel.WEBHOOK: Webhook(),
}
