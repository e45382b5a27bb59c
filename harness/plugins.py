"""Entry points: how installed packages (and the built-in library) add adapters, case packs and sweep families.

Each extension point is an entry point group; loading a group imports every module it names, and the
module registers what it defines (a method, a case, a family) in that extension point's registry.
"""

from __future__ import annotations

ADAPTER_GROUP = "jacobian_harness.adapters"  # adapter modules of other packages
CASE_GROUP = "jacobian_harness.cases"        # case packs; the built-in library is the pack named "builtin"
SWEEP_GROUP = "jacobian_harness.sweeps"      # sweep families; the built-in ones are "builtin"
BUILTIN = "builtin"


class PluginError(Exception):
    """An installed plugin (adapter or case pack) failed to load; the message names it."""


_LOADED: set[tuple[str, str]] = set()


def load_plugins(group: str, what: str) -> list[str]:
    """Load every entry point of `group` once (importing its module registers what it defines), the
    built-in one first; returns the names of the group's entry points."""
    from importlib.metadata import entry_points

    entries = sorted(entry_points(group=group), key=lambda entry: entry.name != BUILTIN)
    for entry in entries:
        if (group, entry.value) in _LOADED:
            continue
        try:
            entry.load()
        except Exception as exc:  # a third-party package: name it rather than fail with its traceback
            raise PluginError(f"{what} plugin {entry.name!r} ({entry.value}, from "
                              f"{getattr(entry.dist, 'name', '?')}) failed to load: {type(exc).__name__}: {exc}"
                              ) from exc
        _LOADED.add((group, entry.value))
    return [entry.name for entry in entries]
