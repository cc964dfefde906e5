from django.urls import Resolver404, resolve

WEBHOOK_URL_NAME = "supplier-webhook"


class SupplierWebhookMiddleware:
    """Supplier webhooks go straight to their view, past the middleware made for people.

    A supplier's server has no session, cookie, language or CSRF token, and it posts
    thousands of events a second: sessions, locale, CSRF, users, messages and request logging
    would only cost time. Placed after the security middleware; the view answers in the one
    JSON shape and logs its own refusals.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/webhooks/"):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.url_name != WEBHOOK_URL_NAME:
            return self.get_response(request)
        response = match.func(request, *match.args, **match.kwargs)
        # The handler renders template responses after the middleware it is skipping.
        if hasattr(response, "render"):
            response.render()
        # As CommonMiddleware would: a sized answer keeps the supplier's connection open.
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
