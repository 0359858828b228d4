"""Consent portal webhooks: Standard Webhooks signatures on the raw bytes, before any parsing.

The ``standardwebhooks`` library checks the ``webhook-id``/``webhook-timestamp``/
``webhook-signature`` headers, the ±5 minute window and the HMAC in constant time. It takes one
secret; during a rotation ``GATEWAY_WEBHOOK_SECRETS`` holds several, and a message signed with
any of them passes. Malformed headers make the library raise plain Python errors; they are all
answered the same way as a bad signature.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.errors import Unauthorized

__all__ = ["verify_webhook"]


def verify_webhook(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> str:
    """The ``webhook-id`` of a message signed with one of ``secrets``.

    :raises Unauthorized: missing headers, a timestamp outside ±5 minutes, or no valid
        signature (the reason is not given away beyond that).
    """
    if not secrets:
        raise Unauthorized("webhooks are not configured (GATEWAY_WEBHOOK_SECRETS)")
    wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("webhook-")}
    for secret in secrets:
        try:
            Webhook(secret).verify(body, wanted, json_parse=False)
        except (WebhookVerificationError, ValueError, binascii.Error):
            continue
        return wanted["webhook-id"]
    raise Unauthorized("webhook signature, timestamp or headers not valid")
