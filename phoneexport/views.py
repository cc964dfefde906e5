from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from phoneexport.health import system_health


@never_cache
@require_GET
def healthz(request):
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def home(request):
    return render(request, "home.html")
