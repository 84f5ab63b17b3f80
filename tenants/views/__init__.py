"""Tenant console pages (SPEC §8): one module per page group; each view parses, authorizes,
calls one service and renders."""
