from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to one recipient: a row before it is sent, so nothing is lost or sent twice."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # (order, event, recipient): the same message is never sent twice.
    dedup_key = models.CharField(_("deduplication key"), max_length=255, unique=True)
    event = models.CharField(_("event"), max_length=40)
    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.CASCADE,
                              null=True, blank=True, related_name="notifications")
    recipient_email = models.EmailField(_("recipient"))
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient user"),
                                       on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="notifications")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices,
                               default=Channel.EMAIL)
    language = models.CharField(_("language"), max_length=10, default=settings.LANGUAGE_CODE)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self):
        return f"{self.event} → {self.recipient_email}"
