"""The token page's form."""

from django import forms

from api.tokens import MAX_LIFETIME_DAYS


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. 'grafana' or 'ansible'.")
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        initial=90,
        required=False,
        help_text="Empty: never expires.",
    )
    read_only = forms.BooleanField(required=False, help_text="Refuse every change.")
