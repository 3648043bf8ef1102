"""Plans: a document parsed, validated and checked once for every request of the same shape.

Clients put values in the query text (`people(where: {id: {_eq: 42}})`): each new value is a new text,
and parsing and validating it again costs ten times what running it does. So, as Hasura does, the
engine keys a second cache on the query with its literals taken out:

- `shape_of` scans the text (one regular expression, no parse) for its Int, Float and String
  literals. The text between them, kept verbatim, and each literal's kind are the shape; the
  literals themselves are this request's values. A String and an Int at one place are different
  shapes, so they never share a plan.
- `build_plan` makes the plan of a shape from a document of it that validated (the schema cache
  asks for it the second time a shape comes, so a text sent once costs no more than before): each
  literal of an argument (also inside lists and input objects) becomes a variable `$__lN` declared
  with the exact input type of its place; the rewritten document is validated once. A document is
  left without a plan (the exact-text cache serves it, as before) when its literals are not exactly
  the scanned ones, when one is a variable's default value, when it has more than one operation or
  uses a `$__l` variable of its own, or when the rewritten document does not validate (two aliases
  of one field with equal literals merge; with two variables they would not).
- `Plan.bind` turns a request's literals into the variables' values with graphql-core's own
  `value_from_ast`, the function validation uses for literals (ValuesOfCorrectTypeRule accepts
  exactly what it accepts). A literal it refuses (`limit: 99999999999`) returns None: the request
  then takes the full path, whose validation gives today's message.

Why the plan's validity carries over: the only validation rules that look at a literal's value are
ValuesOfCorrectType (replayed by `bind`, per literal, with the same type) and
OverlappingFieldsCanBeMerged (which compares arguments: the rewritten document has a distinct variable
at every literal, so if it validates, no two merged fields compare a literal). Every other rule sees
the same tokens. Values are never spliced into SQL: they reach it as the arguments they always were,
and every value is a bound parameter there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FloatValueNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    IntValueNode,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    TypeNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_operation_ast,
    validate,
    value_from_ast,
    visit,
)
from graphql.language import Lexer, Source, TokenKind
from graphql.pyutils import Undefined

PREFIX = "__l"  # the synthetic variables: $__l0, $__l1, ...

# Comments and strings are matched so that nothing inside them is taken for a literal; a number is
# one only where a name does not run into it (`a5` is a name). Names and punctuation stay in the text.
_SCAN = re.compile(
    r"(?P<comment>#[^\n\r]*)"
    r'|(?P<block>"""(?:\\"""|(?!""")[\s\S])*""")'
    r'|(?P<string>"(?:[^"\\\n\r]|\\.)*")'
    r"|(?P<number>(?<![_0-9A-Za-z])-?(?:0|[1-9][0-9]*)(?P<fraction>\.[0-9]+)?(?P<exponent>[eE][+-]?[0-9]+)?)"
)
_NUMBER_RUNS_ON = frozenset("._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_PLAIN_STRING = re.compile(r'"[^"\\\n\r\ud800-\udfff]*"')

INT, FLOAT, STRING = "i", "f", "s"
Literal = IntValueNode | FloatValueNode | StringValueNode


@dataclass(frozen=True)
class Shape:
    key: tuple[tuple[str, ...], str]  # (the text around the literals, their kinds)
    literals: list[Literal]  # this request's literals, in text order
    spans: list[tuple[int, int]]  # where they are in the text


def shape_of(query: str) -> Shape | None:
    """The query's shape and literals; None when the text has something the scanner does not take
    apart safely (a number running into a name, a string graphql-core's lexer refuses)."""
    segments: list[str] = []
    kinds: list[str] = []
    literals: list[Literal] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _SCAN.finditer(query):
        group = match.lastgroup
        if group == "comment":
            continue
        start, end = match.span()
        text = match.group()
        if group == "number":
            if end < len(query) and query[end] in _NUMBER_RUNS_ON:
                return None  # `1.`, `1a`, `01`: graphql-core's error comes from the full path
            if match.group("fraction") is None and match.group("exponent") is None:
                kinds.append(INT)
                literals.append(IntValueNode(value=text))
            else:
                kinds.append(FLOAT)
                literals.append(FloatValueNode(value=text))
        else:
            value = _string_value(text, block=group == "block")
            if value is None:
                return None
            kinds.append(STRING)
            literals.append(value)
        segments.append(query[position:start])
        spans.append((start, end))
        position = end
    segments.append(query[position:])
    return Shape((tuple(segments), "".join(kinds)), literals, spans)


def _string_value(text: str, *, block: bool) -> StringValueNode | None:
    if not block and _PLAIN_STRING.fullmatch(text):
        return StringValueNode(value=text[1:-1])
    try:  # escapes and block strings: decoded by graphql-core's lexer itself
        token = Lexer(Source(text)).advance()
    except GraphQLError:
        return None
    kind = TokenKind.BLOCK_STRING if block else TokenKind.STRING
    if token.kind != kind or token.end != len(text) or token.value is None:
        return None
    return StringValueNode(value=token.value, block=block)


@dataclass(frozen=True)
class Plan:
    document: DocumentNode  # the rewritten document: literals are variables
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    own_variables: tuple[VariableDefinitionNode, ...]  # the request's own variables
    names: tuple[str, ...]  # the synthetic variables, one per literal
    types: tuple[GraphQLInputType, ...]  # the input type of each literal's place

    def bind(self, literals: list[Literal]) -> dict[str, Any] | None:
        """The synthetic variables' values; None when a literal is not a value of its place's type."""
        values: dict[str, Any] = {}
        for name, type_, literal in zip(self.names, self.types, literals):
            value = value_from_ast(literal, type_)
            if value is Undefined:
                return None
            values[name] = value
        return values


@dataclass
class Prepared:
    """What runs: the document and operation the compiled path reads (a plan's, or the request's own),
    with the coerced variables (a plan's lifted literals among them), and the request's own document
    for graphql-core's path."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    original: Callable[[], DocumentNode]


class _Literals(Visitor):
    """Collects the Int, Float and String literals with the input type of their place."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: list[tuple[ValueNode, GraphQLInputType | None, bool]] = []  # (node, type, in a default)

    def _literal(self, node: ValueNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]) -> None:
        in_default = any(isinstance(a, VariableDefinitionNode) for a in ancestors)
        self.found.append((node, self.type_info.get_input_type(), in_default))

    enter_int_value = enter_float_value = enter_string_value = _literal


class _Lift(Visitor):
    def __init__(self, names: dict[int, str]) -> None:
        super().__init__()
        self.names = names

    def _literal(self, node: ValueNode, *_args: Any) -> Any:
        name = self.names.get(id(node))
        return VariableNode(name=NameNode(value=name)) if name is not None else None

    enter_int_value = enter_float_value = enter_string_value = _literal


def build_plan(schema: GraphQLSchema, document: DocumentNode, shape: Shape, operation_name: str | None) -> Plan | None:
    """The plan of `shape`, from `document` (parsed from a text of that shape, with locations, and
    valid); None when this document cannot have one (see the module's docstring)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    own = tuple(operation.variable_definitions or ())
    if any(d.variable.name.value.startswith(PREFIX) for d in own):
        return None
    type_info = TypeInfo(schema)
    collector = _Literals(type_info)
    visit(document, TypeInfoVisitor(type_info, collector))
    found = sorted(collector.found, key=lambda item: item[0].loc.start if item[0].loc else -1)
    if len(found) != len(shape.spans):
        return None
    names: dict[int, str] = {}
    types: list[GraphQLInputType] = []
    for index, ((node, type_, in_default), (start, end), kind) in enumerate(zip(found, shape.spans, shape.key[1])):
        if in_default or type_ is None or node.loc is None or (node.loc.start, node.loc.end) != (start, end):
            return None
        if kind != {IntValueNode: INT, FloatValueNode: FLOAT, StringValueNode: STRING}.get(type(node)):
            return None
        names[id(node)] = f"{PREFIX}{index}"
        types.append(type_)
    lifted = visit(document, _Lift(names))
    definitions = [
        VariableDefinitionNode(variable=VariableNode(name=NameNode(value=name)), type=_type_node(type_), directives=())
        for name, type_ in zip(names.values(), types)
    ]
    rewritten_operation: OperationDefinitionNode | None = None
    rewritten: list[Any] = []
    for definition in lifted.definitions:
        if isinstance(definition, OperationDefinitionNode):
            definition = OperationDefinitionNode(
                operation=definition.operation,
                name=definition.name,
                variable_definitions=(*own, *definitions),
                directives=definition.directives,
                selection_set=definition.selection_set,
            )
            rewritten_operation = definition
        rewritten.append(definition)
    plan_document = DocumentNode(definitions=tuple(rewritten))
    if rewritten_operation is None or validate(schema, plan_document):
        return None
    fragments = {d.name.value: d for d in rewritten if isinstance(d, FragmentDefinitionNode)}
    return Plan(plan_document, rewritten_operation, fragments, own, tuple(names.values()), tuple(types))


def _type_node(type_: GraphQLInputType) -> TypeNode:
    if isinstance(type_, GraphQLNonNull):
        inner = _type_node(type_.of_type)
        assert not isinstance(inner, NonNullTypeNode)
        return NonNullTypeNode(type=inner)
    if isinstance(type_, GraphQLList):
        return ListTypeNode(type=_type_node(type_.of_type))
    return NamedTypeNode(name=NameNode(value=get_named_type(type_).name))
