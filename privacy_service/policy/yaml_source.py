"""A YAML file read together with its node tree, so any value can be traced back to its line.

PyYAML's plain ``safe_load`` forgets where values came from and silently keeps
the last of two equal keys; composing the nodes first keeps both the line
numbers for error messages and the means to refuse a duplicated key. Dates
stay text (``2026-02-30`` would otherwise fail inside the parser, without a
line), so the schema checks them where it can say which line is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

Location = Sequence[int | str]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _TextDatesLoader(yaml.SafeLoader):
    """The safe loader, except that an unquoted date or timestamp is read as a string."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlSyntaxError(Exception):
    """The text is not YAML; ``line`` is 1-based where the parser knows it."""

    def __init__(self, message: str, line: int | None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class DuplicateKey:
    key: str
    line: int


@dataclass(frozen=True)
class YamlSource:
    """The parsed value of a file and its root node (None for an empty file)."""

    value: object
    root: yaml.Node | None

    @classmethod
    def parse(cls, text: str) -> YamlSource:
        """Parse one YAML document (safe loader, dates as text); raise YamlSyntaxError with its line."""
        loader = _TextDatesLoader(text)
        try:
            root = loader.get_single_node()
            value = loader.construct_document(root) if root is not None else None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            message = error.problem or error.context or "not valid YAML"
            raise YamlSyntaxError(message, mark.line + 1 if mark else None) from None
        except yaml.YAMLError as error:
            raise YamlSyntaxError(type(error).__name__, None) from None
        finally:
            loader.dispose()
        return cls(value=value, root=root)

    def duplicate_keys(self) -> list[tuple[Location, DuplicateKey]]:
        """Every mapping key written twice, with the path of its mapping and the line of the second one."""
        found: list[tuple[Location, DuplicateKey]] = []
        if self.root is not None:
            _collect_duplicates(self.root, (), found)
        return found

    def line_of(self, location: Location) -> int | None:
        """The 1-based line of the value at ``location``, or of the nearest parent that exists.

        A key's own line is given for mapping entries (a missing key points at
        its mapping; an unknown key at itself).
        """
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for step in location:
            child = _child(node, step)
            if child is None:
                break
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        return line


def _child(node: yaml.Node, step: int | str) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return key_node, value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return None, node.value[step]
    return None


def _collect_duplicates(
    node: yaml.Node, path: tuple[int | str, ...], found: list[tuple[Location, DuplicateKey]]
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in seen:
                found.append((path, DuplicateKey(key=key, line=key_node.start_mark.line + 1)))
            seen.add(key)
            _collect_duplicates(value_node, (*path, key), found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_duplicates(item, (*path, index), found)
