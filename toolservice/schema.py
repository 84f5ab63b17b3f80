"""OpenAPI pieces for drf-spectacular: the bearer job credential and the error envelope.

The published schema documents the generic endpoints only; tool names are listed per job by
``GET /tools/``, so the schema never reveals a tool outside a job's set (T10).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from toolservice import errors


class JobCredentialScheme(OpenApiAuthenticationExtension):
    target_class = "toolservice.auth.JobCredentialAuthentication"
    name = "jobCredential"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The job credential handed to the container (MATE_JOB_TOKEN).",
        }


ERROR = inline_serializer(
    "ToolErrorEnvelope",
    {
        "error": inline_serializer(
            "ToolErrorBody",
            {
                "category": serializers.ChoiceField(choices=errors.CATEGORIES),
                "message": serializers.CharField(),
            },
        )
    },
)

ERROR_RESPONSES = {
    status: OpenApiResponse(ERROR, description=f"category {category}")
    for category, status in errors.HTTP_STATUS.items()
}
