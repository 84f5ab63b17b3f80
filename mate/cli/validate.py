"""``mate validate``: check a tenant config and optionally a ``.mate.yml`` against it (SPEC §4.11).

Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage error or unreadable file.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from configschema import Problem, validate_repo, validate_tenant

help = "validate a tenant config and optionally a .mate.yml against it"

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, metavar="T.yml", help="the tenant config")
    parser.add_argument("--repo", metavar="R.yml", help="a .mate.yml to check against it")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--onprem",
        action="store_true",
        default=None,
        help="validate as an on-prem installation (default: MATE_DEPLOYMENT=onprem)",
    )


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    files = [("tenant", options["tenant"])]
    if options.get("repo"):
        files.append(("repo", options["repo"]))
    contents: dict[str, bytes] = {}
    for _role, path in files:
        try:
            with open(path, "rb") as handle:
                contents[path] = handle.read()
        except OSError as exc:
            err.write(f"mate validate: cannot read {path}: {exc.strerror or exc}\n")
            return EXIT_USAGE
    onprem = options.get("onprem")
    if onprem is None:
        from django.conf import settings

        onprem = getattr(settings, "MATE_DEPLOYMENT", "hosted") == "onprem"
    found = _check(files, contents, onprem, err)
    _report(found, options.get("json", False), out)
    ok = not any(p.severity == "error" for _file, p in found)
    return EXIT_OK if ok else EXIT_ERRORS


def _check(
    files: list[tuple[str, str]], contents: dict[str, bytes], onprem: bool, err: TextIO
) -> list[tuple[str, Problem]]:
    """Problems of every file, tenant first; the repo is checked only against a valid tenant."""
    tenant_path = files[0][1]
    tenant = validate_tenant(contents[tenant_path], onprem=onprem)
    found = [(tenant_path, p) for p in tenant.problems]
    if len(files) > 1:
        repo_path = files[1][1]
        if tenant.config is None:
            err.write(
                f"mate validate: {repo_path} was not checked: {tenant_path} has errors, "
                "and a .mate.yml can only be checked against a valid tenant config\n"
            )
        else:
            repo = validate_repo(contents[repo_path], tenant.config, onprem=onprem)
            found += [(repo_path, p) for p in repo.problems]
    return found


def _report(found: list[tuple[str, Problem]], as_json: bool, out: TextIO) -> None:
    if as_json:
        document = {
            "ok": not any(p.severity == "error" for _file, p in found),
            "problems": [
                {
                    "file": file,
                    "line": p.line,
                    "column": p.column,
                    "path": p.path,
                    "severity": p.severity,
                    "message": p.message,
                }
                for file, p in found
            ],
        }
        out.write(json.dumps(document, indent=2) + "\n")
        return
    for file, problem in found:
        out.write(problem.format(file) + "\n")
