"""Which modules a reported test covers, through what a scan found.

A scan records, for each module, the chainsaw test files that cover it (the
``chainsaw-test.yaml`` path and the Test's name). A report names a test by its
folder (chainsaw's ``basePath``, as seen from wherever chainsaw ran) and its
name. The folder decides: it equals a test file's folder, or ends with it (an
absolute CI path), or is the tail of exactly one (chainsaw run from ``ci/test``).
Inside that folder the test's name picks among several Tests; without a folder,
the name alone; through the ``suite`` given for tests run elsewhere, the name
must be one of the suite's Tests (unless it holds one). A test that matches
nothing is unmatched, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from posixpath import dirname

from app.reports.model import Outcome


@dataclass
class TestIndex:
    """Chainsaw test files of one scan: folder -> test name -> modules it covers."""

    __test__ = False  # not a pytest class, whatever its name

    folders: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    _found: dict[str, str | None] = field(default_factory=dict, repr=False)  # a report's folder -> the index's

    @classmethod
    def of(cls, modules: Iterable[tuple[str, list[dict]]]) -> TestIndex:
        """From (module path, its chainsaw evidence dicts) pairs, as the store keeps them."""
        index = cls()
        for path, evidence in modules:
            for test in evidence:
                folder = dirname(test.get("test_file", "").strip("/"))
                index.folders.setdefault(folder, {}).setdefault(test.get("name") or "", set()).add(path)
        return index

    def modules(self, folder: str, name: str, by_name: bool = False) -> set[str]:
        """The modules of ``name`` in ``folder``; an unknown name gets the folder's modules,
        unless ``by_name`` (a folder standing in for the test's own) and it holds several Tests."""
        folder = normalise(folder)
        if not folder:
            return {m for tests in self.folders.values() for m in tests.get(name, ())} if name else set()
        if folder not in self._found:
            self._found[folder] = self._folder(folder)
        found = self._found[folder]
        if found is None:
            return set()
        tests = self.folders[found]
        if name in tests:
            return set(tests[name])
        if by_name and len(tests) > 1:
            return set()
        return {m for paths in tests.values() for m in paths}

    def _folder(self, folder: str) -> str | None:
        if folder in self.folders:
            return folder
        # an absolute CI path ends with the test folder: the longest such folder is the one
        inside = [f for f in self.folders if f and folder.endswith("/" + f)]
        if inside:
            return max(inside, key=len)
        # chainsaw run from inside ci/test: the report's folder is a tail, which must name one folder only
        tails = [f for f in self.folders if f and f.endswith("/" + folder)]
        return tails[0] if len(tails) == 1 else None


def match_tests(tests: list[Outcome], index: TestIndex, suite: str | None = None) -> list[list[str]]:
    """The modules each test covers, sorted; ``suite`` is the folder to use when the
    report names none, or when the one it names matches nothing."""
    matched, known = [], {}  # a report repeats its folders (and, across steps, its names): each is looked up once
    for test in tests:
        key = (test.folder, test.name)
        if key not in known:
            modules = index.modules(test.folder, test.name) if test.folder else set()
            if not modules and suite:  # the test's own folder is elsewhere: its name must be one of the suite's
                modules = index.modules(suite, test.name, by_name=bool(test.folder))
            if not modules and not test.folder and not suite:
                modules = index.modules("", test.name)
            known[key] = sorted(modules)
        matched.append(known[key])
    return matched


def normalise(folder: str) -> str:
    """A folder as the scan writes paths: forward slashes, no ``./``, no slash at either end."""
    folder = folder.replace("\\", "/").strip()
    while folder.startswith("./"):
        folder = folder[2:]
    return "" if folder in (".", "/") else folder.strip("/")
