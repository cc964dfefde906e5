"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message, details = str(detail["detail"]), []
    else:
        message = str(getattr(exc, "default_detail", "Invalid request."))
        details = detail if isinstance(detail, list) else [detail]
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response
