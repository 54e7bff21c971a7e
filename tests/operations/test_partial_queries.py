"""The live progress partial costs the same few queries however many steps an operation has
(CONVENTIONS 13), and answers 204 when nothing changed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hosts.models import Host
from operations.models import Operation, OperationEvent, OperationStep

pytestmark = pytest.mark.django_db


def operation_with(steps: int) -> Operation:
    host = Host.objects.get_or_create(name="fw1a", address="127.0.0.1", roles=["firewall"])[0]
    op = Operation.objects.create(
        kind="haproxy-drain",
        target_label="acme-web/web1",
        requested_by_name="nora-noc",
        state="running",
        host=host,
    )
    for i in range(steps):
        OperationStep.objects.create(
            operation=op,
            position=i + 1,
            key=f"s{i}",
            title=f"step {i}",
            host=host,
            script="sysctl net.inet.carp.demotion=240",
            state="done",
            stdout="x\n",
        )
        OperationEvent.objects.create(operation=op, kind="step-done", message=f"step {i}")
    return op


def queries_for(client, op) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("operations:live", args=[op.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_live_partial_query_count_does_not_grow_with_steps(client, noc_user):
    client.force_login(noc_user)
    small, big = operation_with(2), operation_with(12)
    queries_for(client, small)  # the session and the user's groups, once
    assert queries_for(client, small) == queries_for(client, big)
    assert queries_for(client, big) <= 12
