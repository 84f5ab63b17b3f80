"""Subcommands of ``python manage.py mate``. Each module exposes ``help``, ``add_arguments``
and ``run(options, out, err) -> int`` (the exit status); the dispatcher lists them here."""

SUBCOMMANDS = {
    "ensure-operator": "mate.cli.ensure_operator",
    "validate": "mate.cli.validate",
    "rotate-keys": "mate.cli.rotate_keys",
    "route": "mate.cli.route",
    "demo": "mate.cli.demo",
}
