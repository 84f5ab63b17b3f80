"""``mate ensure-operator``: create the local operator account once, print its password once."""

from __future__ import annotations

import argparse
import secrets
from typing import TextIO

help = "create a local operator account on first run and print its generated password once"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default="operator")
    parser.add_argument("--email", default="operator@localhost")


def run(options: dict, out: TextIO, err: TextIO) -> int:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    if user_model.objects.filter(username=options["username"]).exists():
        out.write(f"Operator account {options['username']!r} already exists.\n")
        return 0
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(
        username=options["username"], email=options["email"], password=password
    )
    out.write(
        "\n" + "=" * 60 + "\n"
        f"Created the local operator account.\n  username: {options['username']}\n"
        f"  password: {password}\n"
        "This password is shown only now; change it after signing in.\n" + "=" * 60 + "\n"
    )
    return 0
