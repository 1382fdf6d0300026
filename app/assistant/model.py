"""A draft: the files a chainsaw test for a legacy module needs, and the patch adding them."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from app.assistant.patch import file_diff

SCHEMAS = "https://raw.githubusercontent.com/kyverno/chainsaw/main/.schemas/json"


class DraftError(Exception):
    """A draft that cannot be made (unknown module, already migrated, no legacy test); one line for the user."""


@dataclass
class DraftFile:
    path: str
    content: str
    before: str | None = None  # the file at the drafted commit, when the draft changes it

    @property
    def change(self) -> str:
        return "new" if self.before is None else "changed"

    def diff(self) -> str:
        return file_diff(self.path, self.before, self.content)


@dataclass
class Draft:
    modules: list[str]  # every module the drafted test covers (a core/extra pair together)
    commit: str
    style: str  # "kustomize" or "kuttl"
    files: list[DraftFile] = field(default_factory=list)
    learned: list[str] = field(default_factory=list)  # the repository's conventions the draft reuses
    notes: list[str] = field(default_factory=list)  # what a reviewer must look at

    def patch(self) -> str:
        """A patch ``git apply`` takes, adding (or changing) every file of the draft."""
        return "".join(f.diff() for f in self.files)

    def to_dict(self) -> dict:
        return {
            "modules": self.modules,
            "commit": self.commit,
            "style": self.style,
            "files": [{"path": f.path, "change": f.change, "content": f.content} for f in self.files],
            "learned": self.learned,
            "notes": self.notes,
        }


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, and scripts as literal blocks, as people write chainsaw files."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: FBT001, FBT002
        return super().increase_indent(flow, False)


def _string(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def to_yaml(doc: object, kind: str | None = None, comment: str | None = None) -> str:
    """One YAML document; a chainsaw ``kind`` gets the schema line chainsaw's own converter writes."""
    head = ""
    if kind in ("Test", "StepTemplate"):
        head += f"# yaml-language-server: $schema={SCHEMAS}/{kind.lower()}-chainsaw-v1alpha1.json\n"
    if comment:
        head += "".join(f"# {line}\n" for line in comment.splitlines())
    return head + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
