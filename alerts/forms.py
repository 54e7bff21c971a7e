"""Forms of the alert pages (acknowledge, filters)."""

from django import forms

from alerts.choices import AlertState, Severity
from customers.models import Customer


class AckForm(forms.Form):
    note = forms.CharField(max_length=500, required=False)
    eta_minutes = forms.IntegerField(
        min_value=1, max_value=7 * 24 * 60, required=False, label="ETA (minutes)"
    )


class ResolveForm(forms.Form):
    note = forms.CharField(max_length=500, required=False)


class BulkAckForm(forms.Form):
    alert = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, open_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["alert"].choices = [(pk, pk) for pk in open_ids]


class AlertFilterForm(forms.Form):
    STATES = [("open", "Open"), *AlertState.choices, ("all", "All")]
    state = forms.ChoiceField(choices=STATES, required=False)
    severity = forms.ChoiceField(choices=[("", "Any"), *Severity.choices], required=False)
    kind = forms.CharField(max_length=40, required=False)
    customer = forms.ModelChoiceField(Customer.objects.all(), required=False, empty_label="Any")
    q = forms.CharField(max_length=100, required=False, label="Search")
    roots = forms.BooleanField(required=False, label="Root causes only")

    def filter(self, qs):
        data = self.cleaned_data
        state = data.get("state") or "open"
        if state == "open":
            qs = qs.open()
        elif state != "all":
            qs = qs.filter(state=state)
        if data.get("severity"):
            qs = qs.filter(severity=data["severity"])
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        if data.get("customer"):
            qs = qs.filter(customer=data["customer"])
        if data.get("q"):
            qs = qs.filter(subject__icontains=data["q"]) | qs.filter(message__icontains=data["q"])
        if data.get("roots"):
            qs = qs.filter(parent__isnull=True)
        return qs
