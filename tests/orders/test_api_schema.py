"""The order API against its own OpenAPI schema, with generated requests (schemathesis).

Requests go in-process through the WSGI application, signed in with a buyer's token: no
answer may be a server error, and every answer must be one the schema documents.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from customers.services import api_token_for
from tests.orders.conftest import place

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI application on the test's database connection.

    A finished request closes the database connection, which would end the test's
    transaction; Django's own test client turns that off in the same way.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    # Valid requests only, a bounded number per operation, so the run stays short.
    schema.config.generation.update(modes=["positive"], max_examples=15)
    return schema.include(path_regex=r"^/api/v1/orders")


orders_schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def token(buyer, product, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "user": "100000/minute", "orders_create": "100000/minute"}}
    place(buyer, product)  # something to list
    return api_token_for(user=buyer)


@orders_schema.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_order_api_keeps_to_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
