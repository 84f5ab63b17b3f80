"""Filter forms of the jobs and deliveries pages (GET parameters). Bad values answer 400."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django import forms

from jobs.models import JobStatus, Resolution

MAX_REFRESH_IDS = 200
KNOWN_HOOKS = (
    "Issue Hook",
    "Confidential Issue Hook",
    "Merge Request Hook",
    "Note Hook",
    "Confidential Note Hook",
    "Pipeline Hook",
    "Push Hook",
)


class _Filters(forms.Form):
    """Filters plus ``before``, the keyset cursor (uid of the last row of the previous page)."""

    before = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def query_string(self) -> str:
        """The valid filters (not the cursor) as a query string for links to other pages."""
        params = {}
        for key, value in self.cleaned_data.items():
            if value and key in self.declared_filters:
                params[key] = value.isoformat() if hasattr(value, "isoformat") else value
        return urlencode(params)

    declared_filters: tuple[str, ...] = ()

    def problems(self) -> str:
        return "; ".join(
            f"{self.fields[name].label or name}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        )


class JobFilterForm(_Filters):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *JobStatus.choices], required=False, label="Status"
    )
    agent = forms.CharField(max_length=200, required=False, label="Agent")
    project = forms.CharField(
        max_length=500,
        required=False,
        label="Project",
        widget=forms.TextInput(attrs={"placeholder": "group/project"}),
    )
    declared_filters = ("status", "agent", "project")

    def filters(self) -> dict:
        """ORM lookups of the valid form (the cursor aside)."""
        data = self.cleaned_data
        lookups = {
            "status": data["status"],
            "agent": data["agent"],
            "project_path": data["project"],
        }
        return {key: value for key, value in lookups.items() if value}


class RefreshForm(JobFilterForm):
    """The jobs-list refresh: ``ids`` of the unfinished rows shown, and ``top``, the newest row
    of the first page (``none`` when it showed no row) to fetch newer jobs; absent on later
    pages."""

    ids = forms.CharField(required=False, max_length=MAX_REFRESH_IDS * 37)
    top = forms.CharField(required=False, max_length=36)

    def clean_ids(self) -> list[uuid.UUID]:
        raw = [part for part in self.cleaned_data["ids"].split(",") if part]
        if len(raw) > MAX_REFRESH_IDS:
            raise forms.ValidationError(f"At most {MAX_REFRESH_IDS} ids per refresh.")
        try:
            return [uuid.UUID(part) for part in raw]
        except ValueError:
            raise forms.ValidationError("ids must be comma-separated job ids (UUIDs).") from None

    def clean_top(self) -> uuid.UUID | str:
        top = self.cleaned_data["top"]
        if top in ("", "none"):
            return top
        try:
            return uuid.UUID(top)
        except ValueError:
            raise forms.ValidationError("top must be a job id (UUID) or 'none'.") from None


class DeliveryFilterForm(_Filters):
    resolution = forms.ChoiceField(
        choices=[("", "Any resolution"), *Resolution.choices], required=False, label="Resolution"
    )
    hook = forms.CharField(
        max_length=100,
        required=False,
        label="Hook",
        widget=forms.TextInput(attrs={"list": "known-hooks", "placeholder": "Note Hook"}),
    )
    date = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        label="Received on (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    declared_filters = ("resolution", "hook", "date")
