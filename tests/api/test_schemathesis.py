"""Property-based API tests from the OpenAPI schema (schemathesis), as a NOC token and as a
customer token: no 5xx, every response matches the schema (status codes, content types,
bodies), and nothing a customer token gets back names another company's objects.

Kept small (a few examples per operation) so the whole suite stays quick; the dedicated
tests cover each behaviour exactly."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import (
    CoveragePhaseConfig,
    GenerationConfig,
    PhasesConfig,
    ProjectConfig,
    ProjectsConfig,
    SchemathesisConfig,
    StatefulPhaseConfig,
)

from tests.api.conftest import client_for

# What customer B owns in the fleet fixture: none of it may reach customer A's token.
OTHER_TENANT_NAMES = ("customer-b", "fw-b1", "fw-b2", "fw-pair-b", "www-b", "backup-b", "ams1")


def load_schema():
    """The schema the API serves at /api/schema/, generated in-process (no request needed),
    bound to the real WSGI application."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    # Only the fuzzing phase, positive data, few examples: the coverage phase would try every
    # boundary of every parameter of ~50 operations, minutes of work for this suite.
    project = ProjectConfig(
        phases=PhasesConfig(
            coverage=CoveragePhaseConfig(enabled=False),
            stateful=StatefulPhaseConfig(enabled=False),
        ),
        generation=GenerationConfig(modes=[GenerationMode.POSITIVE], max_examples=3),
    )
    config = SchemathesisConfig(projects=ProjectsConfig(default=project))
    loaded = schemathesis.openapi.from_dict(
        json.loads(OpenApiJsonRenderer().render(raw)), config=config
    )
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()


@pytest.fixture(autouse=True)
def keep_test_connection(db):
    """Like Django's test client: requests must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def noc_token(fleet, noc_user):
    return client_for(noc_user).token_secret


@pytest.fixture
def customer_token(fleet, customer_a_user):
    return client_for(customer_a_user).token_secret


def no_other_tenant(ctx, response, case):
    body = response.content.decode(errors="replace") if response.content else ""
    leaked = [name for name in OTHER_TENANT_NAMES if name in body]
    if leaked:
        raise AssertionError(f"customer token got another tenant's objects: {leaked}")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FEW_EXAMPLES = settings(
    max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@schema.parametrize()
@FEW_EXAMPLES
def test_api_as_noc_conforms_to_its_schema(case, noc_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {noc_token}"}, checks=CHECKS)


@schema.parametrize()
@FEW_EXAMPLES
def test_api_as_customer_conforms_and_shows_no_other_tenant(case, customer_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {customer_token}"}, checks=[*CHECKS, no_other_tenant]
    )
