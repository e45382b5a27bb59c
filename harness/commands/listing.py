"""`list`: the backends (installed or not), methods, cases and sweep families."""

from __future__ import annotations

import json

from jacobian_harness.commands.common import EXIT_OK, case_source_options
from jacobian_harness.commands.requests import ListRequest


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--check", action="store_true", help="import every framework to confirm that it loads "
                        "(slow: about a minute for all of them); without it, a framework is listed as installed "
                        "when its package is found")
    case_source_options(parser)


def run(args) -> int:
    return execute_list(ListRequest.from_args(args))


def execute_list(request: ListRequest) -> int:
    """Print what is installed and registered (as JSON with request.json)."""
    from jacobian_harness.adapters import BACKENDS, METHODS, load_adapters
    from jacobian_harness.casedef import CASES, skipped_in
    from jacobian_harness.document import case_summary

    case_ids = request.load_cases()
    load_adapters()
    backends = {}
    for name, backend in BACKENDS.items():
        if request.check:
            available, reason = backend.availability()
        else:
            available = backend.installed()
            reason = "" if available else f"{name}: no module named {backend.import_name!r} is installed"
        backends[name] = {"available": available, "version": backend.version() if available else None,
                          "reason": reason, "checked": bool(request.check)}
    methods = [{"id": m.id, "backend": m.backend, "mode": m.mode, "order": m.order,
                "available": backends[m.backend]["available"],
                "dtypes": list(m.dtypes), "doc": m.doc} for m in METHODS.values()]
    cases = [case_summary(CASES[c]) for c in case_ids]
    skipped = skipped_in(request.packs)
    from jacobian_harness.sweep import FAMILIES, load_families

    load_families()
    families = [{"id": f.id, "description": f.case.description, "grid": list(f.grid)} for f in FAMILIES.values()]
    if request.json:
        print(json.dumps({"backends": backends, "methods": methods, "cases": cases, "skipped_cases": skipped,
                          "families": families}, indent=1))
        return EXIT_OK
    print("Backends:" if request.check else "Backends (installed: found, not imported; `list --check` imports them):")
    for name, info in backends.items():
        found = "available" if request.check else "installed"
        state = f"{found} ({info['version']})" if info["available"] else f"UNAVAILABLE: {info['reason']}"
        print(f"  {name:10} {state}")
    print(f"\nMethods ({len(methods)}):")
    for m in methods:
        mark = "" if m["available"] else "  [unavailable]"
        print(f"  {m['id']:50} {m['mode']:21} {m['doc']}{mark}")
    print(f"\nCases ({len(cases)}):")
    for c in cases:
        print(f"  {c['id']:28} {','.join(c['tags']):22} {c['description']}")
    if skipped:
        print(f"\nNot checked ({len(skipped)}: samples or operators the packs could not make into cases; "
              f"`list --json` gives each reason)")
    print(f"\nSweep families ({len(families)}):")
    for f in families:
        print(f"  {f['id']:28} {len(f['grid'])} points  {f['description']}")
    return EXIT_OK
