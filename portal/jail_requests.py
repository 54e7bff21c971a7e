"""Jail requests: the services behind the form, the NOC queue and the CLI.

Owns the request's life before provisioning (create, approve, reject, cancel), its audit
rows and its notices, and turns provisioning progress into the words a customer reads. Each
service runs in one transaction and refuses with `Refused(field -> message)`, never a crash.

It must not run anything on a host: approval hands the request to the operations engine
(`portal.provisioning`), which does. It never widens scope: every object it is given is
re-checked against the request's customer inside the transaction (RELIABILITY D3).
"""

from __future__ import annotations

import dataclasses
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from customers.choices import ACTIVE_STATUSES, Affinity, JailPurpose, RequestStatus
from customers.models import Customer, JailRequest
from portal import notices, placement, provisioning
from portal.releases import DEFAULT_TEMPLATE, TEMPLATES


class Refused(Exception):
    """A request the service will not make; `errors` maps form field -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ScopeEscape(Exception):
    """An object of another customer reached a request: the transaction is rolled back."""


def default_name(hostname: str) -> str:
    """The jail name a host name implies: its first label, made jail-safe."""
    label = hostname.split(".", 1)[0].lower()
    name = re.sub(r"[^a-z0-9_-]", "-", label)
    return (name if name[:1].isalpha() else f"j{name}")[:32]


def name_taken(customer: Customer, name: str, *, exclude_request: int | None = None) -> bool:
    from hosts.models import Jail

    held = JailRequest.objects.filter(customer=customer, name=name, status__in=ACTIVE_STATUSES)
    if exclude_request:
        held = held.exclude(pk=exclude_request)
    return (
        held.exists() or Jail.objects.present().filter(host__customer=customer, name=name).exists()
    )


def check_scope(req: JailRequest) -> None:
    """The post-save re-check: everything a request points at belongs to its customer."""
    if req.host_id is not None and req.host.customer_id != req.customer_id:
        raise ScopeEscape(f"host {req.host_id} is not customer {req.customer_id}'s")
    if req.twin_of_id is not None and req.twin_of.host.customer_id != req.customer_id:
        raise ScopeEscape(f"jail {req.twin_of_id} is not customer {req.customer_id}'s")


def validate(customer: Customer, data: dict, *, exclude_request: int | None = None):
    """Every refusal for a wish, by field, plus the preview. `data` holds cleaned values:
    purpose, twin_of (a Jail already scoped by the caller, or None), hostname, name, size_gb,
    template, ip, affinity."""
    errors: dict[str, str] = {}
    purpose = data["purpose"]
    twin_of = data.get("twin_of")
    if purpose == JailPurpose.TWIN and twin_of is None:
        errors["twin_of"] = "Choose the jail to twin."
    if twin_of is not None and twin_of.host.customer_id != customer.pk:
        errors["twin_of"] = "Select a valid choice."
        twin_of = None
    template = data.get("template") or ""
    if purpose != JailPurpose.TWIN:
        template = template or DEFAULT_TEMPLATE
        if template not in TEMPLATES:
            errors["template"] = (
                f"No template “{template}”: choose one of {', '.join(sorted(TEMPLATES))}."
            )
    name = data.get("name") or default_name(data["hostname"])
    if name_taken(customer, name, exclude_request=exclude_request):
        errors["name"] = f"You already have a jail or request named “{name}”."
    size = data["size_gb"]
    preview = placement.compute(
        customer,
        size_gb=size,
        ip=data.get("ip") or "",
        twin_of=twin_of if purpose == JailPurpose.TWIN else None,
        affinity=data.get("affinity") or Affinity.ANY,
        exclude_request=exclude_request,
    )
    for field, message in preview.problems:
        errors.setdefault(field, message)
    return errors, preview, name, template


def create(customer: Customer, user, data: dict) -> JailRequest:
    """Make a pending request. The preview is re-computed here (the form's may be a few
    seconds old) and stored; the IP unique constraint settles a race for the last address."""
    errors, preview, name, template = validate(customer, data)
    if errors:
        raise Refused(errors)
    twin_of = data.get("twin_of") if data["purpose"] == JailPurpose.TWIN else None
    try:
        with transaction.atomic():
            req = JailRequest.objects.create(
                customer=customer,
                requested_by=user,
                purpose=data["purpose"],
                twin_of=twin_of,
                twin_of_label=f"{twin_of.host.name}:{twin_of.name}" if twin_of else "",
                name=name,
                hostname=data["hostname"],
                size_gb=data["size_gb"],
                template=template,
                ip=preview.ip,
                affinity=data.get("affinity") or Affinity.ANY,
                host_id=preview.host_id,
                preview=placement.stored_form(preview),
                status_text="Our NOC reviews it.",
            )
            check_scope(req)
            record(
                actor=user,
                action="jail_request.create",
                target=req,
                after=_snapshot(req),
                message=f"{customer.slug} asks for jail {name} ({req.hostname}, {req.ip})",
            )
            notices.send(req, "received")
    except IntegrityError as exc:
        # Lost a race: another request took the address or the name between our check and
        # our insert. Say which; nothing was created.
        if "ip" in str(exc).lower() or "jail_request_ip_once" in str(exc):
            raise Refused({"ip": f"{preview.ip} was just taken by another request."}) from exc
        raise Refused({"name": f"“{name}” was just taken by another request."}) from exc
    return req


def recheck(
    req: JailRequest, host_id: int | None = None, *, addresses: placement.AddressBook | None = None
) -> tuple[placement.Preview, list[str]]:
    """The preview as it would be now (for the NOC), and what changed since it was made."""
    now = placement.compute(
        req.customer,
        size_gb=req.size_gb,
        ip=req.ip,
        twin_of=req.twin_of if req.purpose == JailPurpose.TWIN else None,
        affinity=req.affinity,
        host_id=host_id if host_id is not None else req.host_id,
        exclude_request=req.pk,
        addresses=addresses,
    )
    now = dataclasses.replace(now, ip_source="held by this request")
    return now, placement.changes(req.preview, now)


def _locked(request_id: int, *statuses) -> JailRequest:
    req = JailRequest.objects.select_for_update().select_related("customer").get(pk=request_id)
    if req.status not in statuses:
        raise Refused({"__all__": f"This request is {req.get_status_display().lower()}."})
    return req


def approve(request_id: int, user, *, host_id: int | None = None) -> JailRequest:
    """Approve (optionally on another host of the customer's) and hand to provisioning.
    Refused when the re-computed placement no longer fits, or when the engine refuses the
    plan; the request then stays pending, and an engine refusal is audited (the engine's
    own refusal record went with the rolled-back transaction)."""
    try:
        return _approve(request_id, user, host_id=host_id)
    except _EngineRefused as exc:
        record(
            actor=user,
            action="jail_request.approve_refused",
            target=JailRequest.objects.filter(pk=request_id).first(),
            message=str(exc.reason)[:500],
        )
        raise Refused({"__all__": f"The engine refused the plan: {exc.reason}"}) from exc


class _EngineRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _approve(request_id: int, user, *, host_id: int | None) -> JailRequest:
    with transaction.atomic():
        req = _locked(request_id, RequestStatus.PENDING)
        preview, _ = recheck(req, host_id)
        problems = dict(preview.problems)
        if problems:
            raise Refused(problems)
        before = _snapshot(req)
        req.host_id = preview.host_id
        req.preview = placement.stored_form(preview)
        req.status = RequestStatus.APPROVED
        req.status_text = "Next in line for setup."
        req.decided_by, req.decided_at = user, timezone.now()
        req.save()
        check_scope(req)
        try:
            req.operation_id = provisioning.start(req, user)
        except provisioning.ProvisioningRefused as exc:
            raise _EngineRefused(str(exc)) from exc
        req.save(update_fields=["operation_id", "updated_at"])
        record(
            actor=user,
            action="jail_request.approve",
            target=req,
            before=before,
            after=_snapshot(req),
            message=f"approved on {req.host.name}",
        )
        notices.send(req, "approved")
    return req


def reject(request_id: int, user, *, reason: str) -> JailRequest:
    reason = (reason or "").strip()
    if not reason:
        raise Refused({"reason": "Say why: the customer reads it."})
    with transaction.atomic():
        req = _locked(request_id, RequestStatus.PENDING)
        before = _snapshot(req)
        req.status = RequestStatus.REJECTED
        req.status_text = reason[:500]
        req.decided_by, req.decided_at = user, timezone.now()
        req.save()
        record(
            actor=user,
            action="jail_request.reject",
            target=req,
            before=before,
            after=_snapshot(req),
            message=reason[:500],
        )
        notices.send(req, "rejected")
    return req


def cancel(request_id: int, user) -> JailRequest:
    """The customer withdraws a request the NOC has not decided yet."""
    with transaction.atomic():
        req = _locked(request_id, RequestStatus.PENDING)
        before = _snapshot(req)
        req.status = RequestStatus.CANCELLED
        req.status_text = "Withdrawn by you."
        req.save()
        record(
            actor=user,
            action="jail_request.cancel",
            target=req,
            before=before,
            after=_snapshot(req),
        )
    return req


def _snapshot(req: JailRequest) -> dict:
    return {
        "status": req.status,
        "purpose": req.purpose,
        "name": req.name,
        "hostname": req.hostname,
        "ip": req.ip,
        "size_gb": req.size_gb,
        "template": req.template,
        "host": req.host.name if req.host_id else "",
        "twin_of": req.twin_of_label,
        "operation_id": req.operation_id,
    }
