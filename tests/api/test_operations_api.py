"""Operations and jail requests through the API: plan, approve (a second person where the
policy says so), cancel; field errors as 400; customers 403 on the list and 404 on an id;
jail requests scoped to their customer and decided by the NOC."""

import pytest

from audit.models import AuditRecord
from customers.models import JailRequest
from operations import services
from operations.models import Operation
from tests.api.conftest import client_for
from tests.conftest import _user_in
from tests.customers.conftest import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatched(monkeypatch):
    """Operation ids handed to the broker: nothing runs."""
    sent = []
    monkeypatch.setattr(services, "_send", lambda pk: sent.append(pk))
    return sent


@pytest.fixture
def four_eyes(settings):
    settings.NYIOPS_OPERATION_APPROVAL = {"backup-now": {"second_person": True}}


@pytest.fixture
def sam_api(db):
    from nyiops.roles import NOC

    return client_for(_user_in(NOC, username="sam-noc", is_staff=True))


def plan(api, **body):
    body = {"kind": "backup-now", "target": "backup-a", "reason": "before the upgrade"} | body
    return api.post("/api/operations/", body, format="json")


def test_plan_approve_by_a_second_person_and_read_it_back(
    fleet, noc_api, sam_api, noc_user, four_eyes, dispatched, django_capture_on_commit_callbacks
):
    planned = plan(noc_api)
    assert planned.status_code == 201, planned.json()
    op_id = planned.json()["id"]
    assert planned.json()["state"] == "planned" and planned.json()["requester"] == "nora-noc"

    own = noc_api.post(f"/api/operations/{op_id}/approve/")
    assert own.status_code == 403 and "second person" in own.json()["detail"]
    assert Operation.objects.get(pk=op_id).state == "planned" and dispatched == []

    with django_capture_on_commit_callbacks(execute=True):
        approved = sam_api.post(f"/api/operations/{op_id}/approve/")
    assert approved.status_code == 200 and approved.json()["approver"] == "sam-noc"
    assert dispatched == [op_id]

    detail = noc_api.get(f"/api/operations/{op_id}/").json()
    assert [e["kind"] for e in detail["timeline"]] == ["planned", "approved"]
    assert detail["plan"][0]["key"] == "run" and "steps" in detail
    listed = noc_api.get("/api/operations/").json()["results"]
    assert [row["id"] for row in listed] == [op_id]
    audited = dict(AuditRecord.objects.values_list("action", "actor__username"))
    assert audited["operation.requested"] == noc_user.username
    assert audited["operation.approved"] == "sam-noc"  # the token's user


def test_cancel_a_planned_operation(fleet, noc_api, dispatched):
    op_id = plan(noc_api).json()["id"]

    cancelled = noc_api.post(f"/api/operations/{op_id}/cancel/")
    again = noc_api.post(f"/api/operations/{op_id}/cancel/")

    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert again.status_code == 409 and "too late" in again.json()["state"][0]
    assert dispatched == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "no-such-kind"}, "kind"),
        ({"target": "no-such-job"}, "target"),
        ({"params": {"x": ["not", "a", "scalar"]}}, "params"),
        ({"kind": 12, "target": None}, "target"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_plan_field_errors_are_400_naming_the_field(fleet, noc_api, body, field):
    response = plan(noc_api, **body)

    assert response.status_code == 400
    assert field in response.json()
    assert Operation.objects.count() == 0


def test_customers_get_403_on_the_list_and_plan_and_404_on_an_id(
    fleet, noc_user, customer_a_api, oncall_api, dispatched
):
    op = services.request_operation("backup-now", "backup-a", {}, by=noc_user)

    assert customer_a_api.get("/api/operations/").status_code == 403
    assert plan(customer_a_api).status_code == 403
    for suffix in ("", "approve/", "cancel/"):
        send = customer_a_api.get if not suffix else customer_a_api.post
        theirs = send(f"/api/operations/{op.pk}/{suffix}")
        missing = send(f"/api/operations/999999/{suffix}")
        assert theirs.status_code == 404 and theirs.json() == missing.json()
    assert oncall_api.get(f"/api/operations/{op.pk}/").status_code == 200
    assert oncall_api.post(f"/api/operations/{op.pk}/approve/").status_code == 403
    op.refresh_from_db()
    assert op.state == "planned" and dispatched == []


def test_read_only_tokens_cannot_plan(fleet, noc_user):
    api = client_for(noc_user, read_only=True)

    assert plan(api).status_code == 403
    assert api.get("/api/operations/").status_code == 200


JAIL = {"purpose": "production", "hostname": "api.a.example", "size_gb": 10}


def test_customer_a_creates_a_jail_request_and_b_cannot_see_it(
    world,  # noqa: F811
    customer_a_api,
    customer_b_api,
):
    created = customer_a_api.post("/api/jail-requests/", JAIL, format="json")
    assert created.status_code == 201, created.json()
    req_id = created.json()["id"]
    assert created.json()["status"] == "pending" and created.json()["name"] == "api"

    assert customer_a_api.get(f"/api/jail-requests/{req_id}/").status_code == 200
    theirs = customer_b_api.get(f"/api/jail-requests/{req_id}/")
    missing = customer_b_api.get("/api/jail-requests/999999/")
    assert theirs.status_code == 404 and theirs.json() == missing.json()
    assert customer_b_api.get("/api/jail-requests/").json()["results"] == []
    refused = customer_b_api.post(f"/api/jail-requests/{req_id}/reject/", {"reason": "x"})
    assert refused.status_code == 404
    assert customer_a_api.post(f"/api/jail-requests/{req_id}/approve/").status_code == 403
    assert JailRequest.objects.get(pk=req_id).status == "pending"


def test_jail_request_field_errors_and_twin_of_another_tenant(
    world,  # noqa: F811
    customer_a_api,
):
    again = customer_a_api.post("/api/jail-requests/", JAIL | {"name": "shop"}, format="json")
    twin = customer_a_api.post(
        "/api/jail-requests/",
        JAIL | {"purpose": "twin", "twin_of": world.b_jail.pk},
        format="json",
    )

    assert again.status_code == 400 and "name" in again.json()
    assert twin.status_code == 400 and "twin_of" in twin.json()
    assert JailRequest.objects.count() == 0


def test_noc_lists_all_and_approves_or_rejects(
    world,  # noqa: F811
    customer_a_api,
    noc_api,
    noc_user,
    dispatched,
):
    first = customer_a_api.post("/api/jail-requests/", JAIL, format="json").json()["id"]
    body = JAIL | {"hostname": "db.a.example"}
    second = customer_a_api.post("/api/jail-requests/", body, format="json").json()["id"]
    assert noc_api.post("/api/jail-requests/", JAIL, format="json").status_code == 403

    ids = {row["id"] for row in noc_api.get("/api/jail-requests/").json()["results"]}
    approved = noc_api.post(f"/api/jail-requests/{first}/approve/", {}, format="json")
    no_reason = noc_api.post(f"/api/jail-requests/{second}/reject/", {}, format="json")
    rejected = noc_api.post(
        f"/api/jail-requests/{second}/reject/", {"reason": "no room"}, format="json"
    )

    assert ids == {first, second}
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    req = JailRequest.objects.get(pk=first)
    assert req.decided_by == noc_user and req.operation_id is not None
    assert AuditRecord.objects.filter(action="jail_request.approve", actor=noc_user).exists()
