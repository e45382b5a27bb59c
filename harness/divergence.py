"""What a case expects where methods legitimately (or knowingly wrongly) differ: `Divergence` records, each with
its reason, the methods it covers (a glob, `id_matches`) and the backend versions it affects."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version


class CaseError(Exception):
    """A case definition or a case file is broken; the message names it."""


def id_matches(name: str, pattern: str) -> bool:
    """A shell-style pattern on ids, where a pattern that is an id matches it exactly: ids such as
    "jax.jit[jacrev]" or "...jacobian[vectorize]" read as globs would not match themselves."""
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True)
class Divergence:
    """Methods matching `methods` (a glob) are expected to differ from the reference on this case.

    `kind` is "convention" (a documented choice at a kink or singular point) or "bug" (a known upstream
    bug: give `issue` and, with `versions`, the backend versions it affects as a PEP 440 specifier).
    `expected`, if given, maps the NumPy inputs to the Jacobian blocks those methods should produce,
    so that a convention that changes value is still noticed. `raises`, if given, is text that the
    error of those methods must contain (a known bug that raises instead of returning a value).
    `checked` lists the backend versions on which the declaration was confirmed (where `versions`
    includes them: it still happens; where it excludes them: the methods agree there), so that a
    report on another version can say that nobody has looked yet.
    """

    methods: str
    reason: str
    kind: str = "convention"
    issue: str | None = None
    versions: str | None = None
    expected: Callable[..., Any] | None = None
    raises: str | None = None
    checked: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in ("convention", "bug"):
            raise CaseError(f"Divergence kind must be 'convention' or 'bug', not {self.kind!r}")
        if self.raises is not None and self.expected is not None:
            raise CaseError(f"Divergence for {self.methods!r}: give `expected` (a value) or `raises` (an error), "
                            f"not both")
        object.__setattr__(self, "checked", tuple(self.checked))
        for version in self.checked:
            try:
                Version(version)
            except InvalidVersion as exc:
                raise CaseError(f"Divergence checked version {version!r} is not a version number") from exc
        if self.versions is not None:
            try:
                SpecifierSet(self.versions)
            except InvalidSpecifier as exc:
                raise CaseError(f"Divergence versions {self.versions!r} is not a PEP 440 specifier") from exc

    def applies_to(self, method_id: str, backend_version: str | None) -> bool:
        if not id_matches(method_id, self.methods):
            return False
        if self.versions is None or backend_version is None:
            return True
        try:
            # Local build tags such as "+cpu" must not stop "2.13.0+cpu" matching "<2.14".
            return Version(backend_version).public in SpecifierSet(self.versions)
        except InvalidVersion:
            return True

    def was_checked_on(self, backend_version: str | None) -> bool:
        """Whether the declaration was confirmed on this version (its public part: "2.15.0+cu132" is 2.15.0)."""
        if backend_version is None:
            return False
        try:
            public = Version(backend_version).public
        except InvalidVersion:
            return False
        return any(Version(v).public == public for v in self.checked)

    def describe(self) -> str:
        text = f"{self.kind}: {self.reason}"
        if self.issue:
            text += f" ({self.issue}"
            text += f", affects {self.versions})" if self.versions else ")"
        elif self.versions:
            text += f" (affects {self.versions})"
        return text
