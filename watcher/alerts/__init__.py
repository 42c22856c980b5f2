"""Alert channels (webhook, email, log, chat formats) and the outbox delivery loop.

Public API: :func:`deliver_due` (deliver what the outbox has due), :func:`send_email_message`
(one email, used by the digest), :func:`send_test` (``watcher alerts test``),
:func:`watcher.alerts.routing.route` (which channel hears about which rules).
"""

from watcher.alerts.deliver import ChannelReport, DeliveryReport, deliver_due, send_test
from watcher.alerts.email import send_email_message
from watcher.alerts.webhook import signature, verify_signature

__all__ = [
    "ChannelReport",
    "DeliveryReport",
    "deliver_due",
    "send_email_message",
    "send_test",
    "signature",
    "verify_signature",
]
