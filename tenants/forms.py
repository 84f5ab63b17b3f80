"""Console forms: they parse and shape input; the rules live in tenants.services.

Length and format checks that matter (GitLab URL, LLM key length, filename, roles) are made by
the services, which raise errors naming the field; ``attach_error`` puts such an error on the form
field it names so the page shows it next to the input.
"""

from __future__ import annotations

from django import forms

from tenants.models import LLMProvider, Plan, Role
from tenants.services.tenant import LLM_KEY_MAX, LLM_KEY_MIN


def attach_error(form: forms.Form, field: str | None, message: str) -> None:
    """Show ``message`` next to ``field`` when the form has it, else at the top of the form."""
    form.add_error(field if field in form.fields else None, message)


def _secret_input(**attrs) -> forms.PasswordInput:
    """A write-only input: never pre-filled (render_value=False), never autocompleted."""
    base = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
    return forms.PasswordInput(attrs={**base, **attrs}, render_value=False)


class TenantCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="1 to 80 characters, e.g. your team's name.")
    gitlab_url = forms.CharField(
        label="GitLab URL",
        max_length=300,
        help_text="The base URL of your GitLab, e.g. https://gitlab.example.com",
        widget=forms.URLInput(attrs={"placeholder": "https://gitlab.example.com"}),
    )
    plan = forms.ChoiceField(choices=Plan.choices, initial=Plan.STARTER)


class GeneralSettingsForm(forms.Form):
    """What operators may change; the GitLab URL has its own owner-only form (GitLabURLForm)."""

    name = forms.CharField(max_length=200)
    mate_filename = forms.CharField(
        label=".mate.yml filename",
        max_length=200,
        help_text="The per-repository configuration file Mate reads at a project's root.",
    )


class GitLabURLForm(forms.Form):
    gitlab_url = forms.CharField(
        label="New GitLab URL",
        max_length=300,
        help_text="The base URL of your GitLab, e.g. https://gitlab.example.com",
        widget=forms.URLInput(attrs={"placeholder": "https://gitlab.example.com"}),
    )
    # Set by the confirmation step, after the owner has read what the change does.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class LLMCredentialForm(forms.Form):
    llm_provider = forms.ChoiceField(label="LLM provider", choices=LLMProvider.choices)
    llm_key = forms.CharField(
        label="API key",
        strip=True,
        max_length=2000,
        help_text=f"Write-only: {LLM_KEY_MIN} to {LLM_KEY_MAX} characters. "
        "Saving replaces the stored key; it is never shown again.",
        widget=_secret_input(minlength=LLM_KEY_MIN, maxlength=LLM_KEY_MAX),
    )


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Personal access token",
        max_length=1000,
        help_text="A PAT of the bot's GitLab account with the api scope. It is never shown again.",
        widget=_secret_input(placeholder="glpat-…"),
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The person's Mate account name.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ConfigForm(forms.Form):
    # Not required: an empty document is a configuration problem the validator reports.
    text = forms.CharField(required=False, strip=False, widget=forms.Textarea)

    def clean_text(self) -> str:
        # Browsers submit textarea line breaks as CRLF; store what the operator typed.
        return self.cleaned_data["text"].replace("\r\n", "\n").replace("\r", "\n")
