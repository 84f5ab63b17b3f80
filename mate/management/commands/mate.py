"""``python manage.py mate SUBCOMMAND ...``: one entry point for Mate's command-line tools."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mate.cli import SUBCOMMANDS


class Command(BaseCommand):
    help = "Mate tools: " + ", ".join(sorted(SUBCOMMANDS))
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, parser_class=type(parser))
        for name, module_path in sorted(SUBCOMMANDS.items()):
            module = importlib.import_module(module_path)
            child = sub.add_parser(name, help=module.help, called_from_command_line=True)
            module.add_arguments(child)

    def handle(self, *args: Any, **options: Any) -> None:
        module = importlib.import_module(SUBCOMMANDS[options["subcommand"]])
        status = module.run(options, self.stdout, self.stderr)
        if status:
            sys.exit(status)
