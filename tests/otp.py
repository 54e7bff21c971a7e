"""Second-factor helpers for tests: a known authenticator for a user, the code it shows now,
and a test client whose session is verified the way the verify page would leave it."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

# A fixed secret (20 bytes, hex) so browser tests can type the current code.
TEST_TOTP_KEY = "3132333435363738393031323334353637383930"


def totp_device(user) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="test authenticator", defaults={"key": TEST_TOTP_KEY, "confirmed": True}
    )
    return device


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def verify_session(client, user) -> TOTPDevice:
    """What a successful code on the verify page does to the session (django_otp.login)."""
    device = totp_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def step_up(client, user):
    """Re-authenticate on the step-up page (password + a current code), as a person would."""
    from django.urls import reverse

    device = totp_device(user)
    response = client.post(
        reverse("reauth"), {"password": PASSWORD, "token": current_code(device), "next": "/"}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response
