from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Event


class EmailPreferencesForm(forms.Form):
    events = forms.MultipleChoiceField(
        label=_("Email me when"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, events: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(event, Event(event).label) for event in events]
