"""Two-factor authentication (RELIABILITY.md D7): staff reach no page, admin included, until
this session verified a TOTP or backup code; customers only when their company asks; setup
shows the QR code as an image and keeps to the CSP."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import unverified_login
from tests.factories import UserFactory
from tests.otp import PASSWORD, current_code, totp_device

pytestmark = pytest.mark.django_db
OVERVIEW = "/hosts/"


def test_a_staff_user_with_an_authenticator_is_sent_to_verify_first(client, noc_user):
    totp_device(noc_user)
    unverified_login(client, noc_user)

    response = client.get(OVERVIEW)

    assert response.status_code == 302
    assert response.url == f"{reverse('otp-verify')}?next=%2Fhosts%2F"


def test_a_staff_user_without_an_authenticator_is_sent_to_set_one_up(client, oncall_user):
    unverified_login(client, oncall_user)

    response = client.get(reverse("alerts:list"))

    assert response.status_code == 302 and response.url.startswith(reverse("otp-setup"))


def test_the_admin_also_requires_the_second_factor(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    totp_device(admin)
    unverified_login(client, admin)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and response.url.startswith(reverse("otp-verify"))


def test_a_widget_refresh_of_an_unverified_session_gets_401(client, noc_user):
    totp_device(noc_user)
    unverified_login(client, noc_user)

    response = client.get(
        reverse("hosts:widget-findings"), HTTP_HX_REQUEST="true", HTTP_X_NYIOPS_POLL="1"
    )

    assert response.status_code == 401


def test_a_json_client_on_an_unverified_session_gets_401_not_a_redirect(client, noc_user):
    totp_device(noc_user)
    unverified_login(client, noc_user)

    response = client.get(reverse("alerts:list"), HTTP_ACCEPT="application/json")

    assert response.status_code == 401


def test_a_current_code_verifies_the_session_and_returns_to_the_page(client, noc_user):
    device = totp_device(noc_user)
    unverified_login(client, noc_user)

    response = client.post(reverse("otp-verify"), {"token": current_code(device), "next": OVERVIEW})

    assert response.status_code == 302 and response.url == OVERVIEW
    assert client.get(OVERVIEW).status_code == 200


def test_a_wrong_code_leaves_the_session_unverified(client, noc_user):
    device = totp_device(noc_user)
    unverified_login(client, noc_user)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("otp-verify"), {"token": wrong, "next": OVERVIEW})

    assert response.status_code == 400
    assert client.get(OVERVIEW).status_code == 302


def test_verify_never_redirects_off_site(client, noc_user):
    device = totp_device(noc_user)
    unverified_login(client, noc_user)

    response = client.post(
        reverse("otp-verify"), {"token": current_code(device), "next": "https://evil.example/"}
    )

    assert response.status_code == 302 and response.url == reverse("home")


def test_a_backup_code_works_once(client, noc_user):
    totp_device(noc_user)
    static = StaticDevice.objects.create(user=noc_user, name="backup codes")
    StaticToken.objects.create(device=static, token="backup01")
    unverified_login(client, noc_user)

    first = client.post(reverse("otp-verify"), {"token": "backup01", "next": OVERVIEW})
    client.logout()
    unverified_login(client, noc_user)
    second = client.post(reverse("otp-verify"), {"token": "backup01", "next": OVERVIEW})

    assert first.status_code == 302
    assert second.status_code == 400


def test_the_whole_login_is_password_then_code(client, noc_user):
    device = totp_device(noc_user)

    login = client.post(reverse("login"), {"username": noc_user.username, "password": PASSWORD})
    blocked = client.get(OVERVIEW)
    client.post(reverse("otp-verify"), {"token": current_code(device), "next": OVERVIEW})

    assert login.status_code == 302
    assert blocked.status_code == 302 and blocked.url.startswith(reverse("otp-verify"))
    assert client.get(OVERVIEW).status_code == 200


def test_setup_shows_the_qr_code_as_an_svg_image_within_the_csp(client, oncall_user):
    unverified_login(client, oncall_user)

    response = client.get(reverse("otp-setup"))
    html = response.content.decode()

    assert response.status_code == 200
    assert re.search(r'<img src="data:image/svg\+xml[^"]+"', html)
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "otpauth" not in html.replace("data:image", "")  # the secret travels in the image


def test_setup_confirms_with_a_code_and_shows_backup_codes_once(client, oncall_user):
    unverified_login(client, oncall_user)
    client.get(reverse("otp-setup"))
    device = TOTPDevice.objects.get(user=oncall_user, confirmed=False)

    response = client.post(
        reverse("otp-setup"), {"token": current_code(device), "next": "/alerts/"}
    )

    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(r"<li><code>(\w+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=oncall_user).count() == 10
    assert client.get("/alerts/").status_code == 200


def test_setup_is_not_a_way_around_an_existing_authenticator(client, noc_user):
    totp_device(noc_user)
    unverified_login(client, noc_user)

    response = client.get(reverse("otp-setup"))

    assert response.status_code == 302 and response.url.startswith(reverse("otp-verify"))
    assert not TOTPDevice.objects.filter(user=noc_user, confirmed=False).exists()


def test_customers_need_no_second_factor_by_default(client, customer_a_user):
    unverified_login(client, customer_a_user)

    assert client.get(reverse("customers:portal")).status_code == 200


def test_a_company_can_require_it_of_its_portal_users(client, customer_a, customer_a_user):
    customer_a.require_2fa = True
    customer_a.save()
    unverified_login(client, customer_a_user)

    response = client.get(reverse("customers:portal"))

    assert response.status_code == 302 and response.url.startswith(reverse("otp-setup"))


def test_a_verified_superuser_reaches_the_admin(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)  # verified, see tests/conftest.py

    assert client.get(reverse("admin:index")).status_code == 200


def every_route():
    """(path, name) for every URL in the URLconf, ids filled with 1 (the 2FA check runs
    before the view looks anything up)."""
    import re

    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix, namespace):
        for p in patterns:
            route = str(p.pattern)
            if route.startswith("^"):  # the admin's app-index regex; its pages are covered
                continue
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                yield from walk(p.url_patterns, prefix + route, ns)
            else:
                name = ":".join(filter(None, [namespace, p.name]))
                yield "/" + re.sub(r"<(?:(\w+):)?\w+>", _fill, prefix + route), name

    def _fill(match):
        return "1" if match.group(1) == "int" else "x"

    return list(walk(get_resolver().url_patterns, "", ""))


def test_every_route_but_the_way_in_and_out_asks_an_unverified_staff_user_to_verify(
    client, noc_user
):
    totp_device(noc_user)
    routes = every_route()
    assert len(routes) > 40  # the walk found the admin and the apps

    way_in_and_out = {"login", "logout", "admin:logout", "otp-verify", "otp-setup"}
    unverified_login(client, noc_user)
    leaks = []
    for path, name in routes:
        if name in way_in_and_out | {"healthz", "alerts:ack-link"}:  # no login needed at all
            continue
        response = client.get(path)
        if not (response.status_code == 302 and response.url.startswith(reverse("otp-verify"))):
            leaks.append((path, name, response.status_code))

    assert leaks == []


def session_names_device(client, persistent_id: str) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = persistent_id
    session.save()


def test_a_deleted_authenticator_unverifies_the_sessions_it_verified(client, noc_user):
    device = totp_device(noc_user)
    unverified_login(client, noc_user)
    session_names_device(client, device.persistent_id)
    assert client.get(OVERVIEW).status_code == 200

    device.delete()

    response = client.get(OVERVIEW)
    assert response.status_code == 302 and response.url.startswith(reverse("otp-setup"))


def test_a_session_naming_no_device_of_its_own_is_not_verified(client, noc_user, oncall_user):
    mine = totp_device(noc_user)
    unverified_login(client, noc_user)
    unconfirmed = TOTPDevice.objects.create(user=noc_user, name="half set up", confirmed=False)
    for persistent_id in (
        totp_device(oncall_user).persistent_id,  # someone else's
        unconfirmed.persistent_id,
        f"{mine.model_label()}/{mine.pk + 1000}",  # no such row
        f"{mine.model_label()}/not-a-number",
        "auth.user/1",  # not a device model
        "nosuchapp.device/1",
        "garbage",
    ):
        session_names_device(client, persistent_id)

        response = client.get(OVERVIEW)

        assert response.status_code == 302, persistent_id
        assert response.url.startswith(reverse("otp-verify")), persistent_id
