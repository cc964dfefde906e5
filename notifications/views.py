from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from notifications import selectors, services
from notifications.forms import EmailPreferencesForm


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    """The signed-in user's choice of which order events email them."""
    events = selectors.preference_events_for(user=request.user)
    if request.method == "POST":
        form = EmailPreferencesForm(request.POST, events=events)
        if form.is_valid():
            services.set_email_preferences(user=request.user,
                                           enabled_events=form.cleaned_data["events"])
            messages.success(request, _("Your email preferences are saved."))
            return redirect("notifications:preferences")
    else:
        chosen = selectors.email_events_for(user=request.user)
        form = EmailPreferencesForm(
            events=events, initial={"events": [event for event in events if event in chosen]})
    return render(request, "notifications/preferences.html",
                  {"form": form, "is_client": request.user.company_id is not None})
