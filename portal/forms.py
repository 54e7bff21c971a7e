"""Portal and NOC forms. Choice querysets come from `scope()` (D3); the refusals themselves
live in portal.jail_requests.validate, so the CLI and the form refuse the same things."""

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from customers.choices import Affinity, JailPurpose, MembershipRole
from customers.scoping import customer_of, scope
from customers.validators import hostname_validator, jail_name_validator
from hosts.models import Jail
from portal import jail_requests, placement
from portal.releases import TEMPLATES


class JailChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.hostname or obj.host.name})"


class JailRequestForm(forms.Form):
    purpose = forms.ChoiceField(choices=JailPurpose.choices)
    twin_of = JailChoiceField(
        queryset=Jail.objects.none(),
        required=False,
        label="Twin of",
        help_text="For a staging twin: the jail to copy. Only its IP and host name differ.",
    )
    hostname = forms.CharField(max_length=253, validators=[hostname_validator])
    name = forms.CharField(
        max_length=32,
        required=False,
        validators=[jail_name_validator],
        help_text="Defaults to the host name's first label.",
    )
    size_gb = forms.IntegerField(min_value=1, max_value=100_000, label="Size (GiB)")
    template = forms.ChoiceField(
        choices=[("", "Default (14.1-RELEASE)")] + [(name, name) for name in TEMPLATES],
        required=False,
        help_text="The release the jail starts from; a twin copies its source instead.",
    )
    ip = forms.CharField(
        max_length=45, required=False, label="IP address", help_text="Empty: the next free one."
    )
    affinity = forms.ChoiceField(choices=Affinity.choices, initial=Affinity.ANY, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer_of(user)
        self.fields["twin_of"].queryset = (
            scope(Jail.objects.present(), user, field="host__customer")
            .select_related("host")
            .order_by("name")
        )
        self.preview: placement.Preview | None = None

    def clean_hostname(self):
        return self.cleaned_data["hostname"].lower().rstrip(".")

    def clean(self):
        data = super().clean()
        if self.errors or self.customer is None:
            return data
        data = {**data, "affinity": data.get("affinity") or Affinity.ANY}
        errors, self.preview, data["name"], data["template"] = jail_requests.validate(
            self.customer, data
        )
        for field, message in errors.items():
            self.add_error(None if field == "__all__" else field, message)
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ApproveForm(forms.Form):
    host = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, req, **kwargs):
        super().__init__(*args, **kwargs)
        hosts = placement.jail_hosts(req.customer)
        self.fields["host"].choices = [("", "As previewed")] + [(h.pk, h.name) for h in hosts]


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = forms.EmailField()
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.VIEWER)
