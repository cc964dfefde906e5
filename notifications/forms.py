from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Event


class EmailPreferencesForm(forms.Form):
    events = forms.MultipleChoiceField(
        label=_("Email me when"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, events: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(event, Event(event).label) for event in events]


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("Endpoint URL"), max_length=500, assume_scheme="https",
                         help_text=_("An HTTPS address of your system that accepts POST."))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(label=_("Send these events"),
                                       widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, events: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(event, Event(event).label) for event in events]
        self.fields["events"].initial = list(events)
