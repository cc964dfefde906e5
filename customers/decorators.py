from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def client_required(view):
    """Pages of a client company: signed in and belonging to one.

    Anonymous users are sent to sign in. Staff and other users without a company get 403,
    not 404: the page exists, they are simply not a client.
    """
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.company_id is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapper
