"""Flattening a validated selection set into what to fetch: fields by response key, fragments
inlined, `@skip`/`@include` applied, arguments coerced with the request's variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_directive_values
from graphql.type.directives import GraphQLIncludeDirective, GraphQLSkipDirective


class NotCompilable(Exception):
    """The compiled path does not handle this request; graphql-core executes it instead."""


@dataclass
class Selected:
    key: str  # response key (alias or name)
    name: str  # field name
    nodes: list[FieldNode]
    definition: GraphQLField
    args: dict[str, Any] = field(default_factory=dict)
    children: list[Selected] = field(default_factory=list)


def flatten(
    parent: GraphQLObjectType,
    selection_sets: list[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    max_depth: int,
    depth: int = 0,
) -> list[Selected]:
    if depth > max_depth:
        raise GraphQLError(f"The query is nested too deeply (at most {max_depth} levels)")
    by_key: dict[str, Selected] = {}
    for selection_set in selection_sets:
        _collect(parent, selection_set, fragments, variables, by_key, set())
    for selected in by_key.values():
        child_type = get_named_type(selected.definition.type)
        sub_sets = [node.selection_set for node in selected.nodes if node.selection_set]
        if sub_sets and isinstance(child_type, GraphQLObjectType):
            selected.children = flatten(child_type, sub_sets, fragments, variables, max_depth, depth + 1)
    return list(by_key.values())


def _collect(
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    by_key: dict[str, Selected],
    visited: set[str],
) -> None:
    for node in selection_set.selections:
        if not _included(node, variables):
            continue
        if isinstance(node, FieldNode):
            name = node.name.value
            key = node.alias.value if node.alias else name
            if name.startswith("__") and name != "__typename":
                raise NotCompilable(name)
            if key in by_key:
                by_key[key].nodes.append(node)
                continue
            if name == "__typename":
                by_key[key] = Selected(key, name, [node], GraphQLField(parent))
                continue
            definition = parent.fields[name]
            args = get_argument_values(definition, node, variables)
            by_key[key] = Selected(key, name, [node], definition, args)
        elif isinstance(node, InlineFragmentNode):
            _collect(parent, node.selection_set, fragments, variables, by_key, visited)
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            if name in visited:
                continue
            visited.add(name)
            _collect(parent, fragments[name].selection_set, fragments, variables, by_key, visited)


def _included(node: Any, variables: dict[str, Any]) -> bool:
    if not node.directives:
        return True
    for directive in node.directives:
        if directive.name.value not in ("skip", "include"):
            raise NotCompilable(directive.name.value)
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include and include.get("if") is False)
