"""Entry points: how installed packages (and the built-in library) add adapters, case packs and sweep families.

Each extension point is an entry point group; loading a group imports every module it names, and the
module registers what it defines (a method, a case, a family) in that extension point's registry.
"""

from __future__ import annotations

import functools

ADAPTER_GROUP = "jacobian_harness.adapters"  # adapter modules of other packages
CASE_GROUP = "jacobian_harness.cases"        # case packs; the built-in library is the pack named "builtin"
SWEEP_GROUP = "jacobian_harness.sweeps"      # sweep families; the built-in ones are "builtin"
BUILTIN = "builtin"


class PluginError(Exception):
    """An installed plugin (adapter or case pack) failed to load; the message names it."""


# (group, entry point value) -> the options a pack function was called with (None: a module, imported once).
_LOADED: dict[tuple[str, str], set[str] | None] = {}


@functools.cache
def _entries(group: str) -> tuple:
    """The installed entry points of `group`, the built-in one first, read once per process: scanning every
    installed distribution's metadata takes milliseconds, and methods are looked up for every pair."""
    from importlib.metadata import entry_points

    return tuple(sorted(entry_points(group=group), key=lambda entry: entry.name != BUILTIN))


def load_plugins(group: str, what: str, names: list[str] | None = None, options: dict | None = None) -> list[str]:
    """Load the entry points of `group` (those in `names`, default all) once each, the built-in one first;
    returns the names of the group's entry points. An entry point names a module, whose import registers
    what it defines, or a function, called once with `options` (a generated pack's --samples)."""
    entries = _entries(group)
    given = repr(sorted((options or {}).items()))
    for entry in entries:
        key = (group, entry.value)
        if names is not None and entry.name not in names:
            continue
        if key in _LOADED and ((loaded_with := _LOADED[key]) is None or given in loaded_with):
            continue
        try:
            loaded = entry.load()
            if callable(loaded):
                loaded(**_accepted(loaded, options or {}))  # a generated pack adds what these options ask for
                _LOADED[key] = (_LOADED.get(key) or set()) | {given}
            else:
                _LOADED[key] = None
        except PluginError:
            raise  # a pack's own one-line message (e.g. what to install)
        except Exception as exc:  # a third-party package: name it rather than fail with its traceback
            raise PluginError(f"{what} plugin {entry.name!r} ({entry.value}, from "
                              f"{getattr(entry.dist, 'name', '?')}) failed to load: {type(exc).__name__}: {exc}"
                              ) from exc
    return [entry.name for entry in entries]


def _accepted(function, options: dict) -> dict:
    """The options that the pack function takes (a third-party one need not know every option)."""
    import inspect

    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(options)
    return {name: value for name, value in options.items() if name in parameters}


def plugin_names(group: str) -> list[str]:
    """The names of the installed entry points of `group`, the built-in one first; nothing is imported."""
    return sorted({entry.name for entry in _entries(group)}, key=lambda name: (name != BUILTIN, name))
