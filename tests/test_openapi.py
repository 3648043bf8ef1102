"""The served OpenAPI document is valid (openapi-spec-validator), each documented route declares what
it answers, and operationIds are unique names derived from the handlers. That the declared schemas
are true of real answers is tests/test_openapi_answers.py."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from starlette.routing import Route

from airsequel.http.openapi.declarations import JSON
from airsequel.http.openapi.document import DECLARED, documented_operations, openapi, operation_ids

# JSON answers that are free-form on purpose: the document itself.
# The document itself, and what a cloud function answers (its data: any JSON).
FREE_FORM = {("GET", "/api/openapi.json"), *((m, "/fns/{func_id}") for m in ("GET", "POST", "PUT", "PATCH", "DELETE"))}


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_document_passes_openapi_spec_validator(document):
    validate(document)


def test_the_validator_would_catch_a_duplicate_operation_id(document):
    """The check above can fail: the old document's flaw (two operations sharing an id) is refused."""
    first, second = document["paths"]["/api/dbs"]["get"], document["paths"]["/api/dbs"]["post"]
    second["operationId"] = first["operationId"]
    with pytest.raises(OpenAPIValidationError, match="Operation ID .list_databases. .* is not unique"):
        validate(document)


def test_every_documented_route_declares_its_answers(client):
    """A route added without a declaration in airsequel/http/openapi/*_responses.py fails here, and so
    does a declaration left behind by a route that is gone."""
    operations = {(op.method, op.path) for op in documented_operations(client.app.routes)}
    assert sorted(operations - DECLARED.keys()) == [], "declare these in airsequel/http/openapi/*_responses.py"
    assert sorted(DECLARED.keys() - operations) == [], "these declarations name no route"


def test_json_answers_are_typed(document):
    """Every JSON success names its shape: a component, or an object with properties, not a bare object."""
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method.upper(), path) in FREE_FORM:
                continue
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get(JSON, {}).get("schema")
                if schema is None and JSON in answer.get("content", {}):
                    untyped.append(f"{method.upper()} {path} {status}: no schema")
                elif schema is None or schema.get("format") == "binary":  # a download (a JSON export's file)
                    continue
                elif not (
                    {"$ref", "allOf", "oneOf", "properties", "maxProperties"} & schema.get("items", schema).keys()
                ):
                    untyped.append(f"{method.upper()} {path} {status}: {schema}")
    assert untyped == []


def test_html_routes_are_described_as_html(document):
    for path in ("/dbs/{db_id}", "/dbs/{db_id}/sql", "/dbs/{db_id}/graphql", "/api/docs"):
        assert list(document["paths"][path]["get"]["responses"]["200"]["content"]) == ["text/html"]
    download = document["paths"]["/dbs/{db_id}/download"]["get"]["responses"]["200"]["content"]
    assert list(download) == ["application/vnd.sqlite3"]


def test_errors_are_declared_with_their_statuses(document):
    get_database = document["paths"]["/api/dbs/{db_id}"]["get"]["responses"]
    for status in ("401", "403", "404", "default"):
        assert get_database[status]["content"][JSON]["schema"] == {"$ref": "#/components/schemas/Errors"}
    assert document["components"]["schemas"]["Errors"]["properties"]["errors"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    graphql = document["paths"]["/dbs/{db_id}/graphql"]["post"]["responses"]
    assert graphql["400"]["content"][JSON]["schema"] == {"$ref": "#/components/schemas/GraphQLErrors"}
    assert "501" in document["paths"]["/api/events/paddle"]["post"]["responses"]


def test_operation_ids_are_the_handlers_names_made_unique(client, document):
    ids = [op["operationId"] for operations in document["paths"].values() for op in operations.values()]
    assert len(ids) == len(set(ids))
    assert document["paths"]["/api/dbs/{db_id}"]["get"]["operationId"] == "get_database"
    assert document["paths"]["/dbs/{db_id}/sql"]["post"]["operationId"] == "run_sql"
    # Handlers that serve several routes: told apart by the path, then by the method.
    assert document["paths"]["/dbs/{db_id}/graphql"]["post"]["operationId"] == "graphql_post_dbs_graphql"
    assert document["paths"]["/readonly/{readonly_id}/graphql"]["post"]["operationId"] == (
        "graphql_post_readonly_graphql"
    )
    assert document["paths"]["/api/dbs/{db_id}/charts"]["get"]["operationId"] == "list_items_dbs_charts"
    assert document["paths"]["/api/events/paddle"]["post"]["operationId"] == "endpoint"
    for operation in documented_operations(client.app.routes):
        op_id = document["paths"][operation.path][operation.method.lower()]["operationId"]
        assert op_id.startswith(operation.route.name), (operation.path, op_id)


def test_operation_ids_do_not_depend_on_the_order_of_the_routes(client):
    routes = [route for route in client.app.routes if isinstance(route, Route)]
    forward = operation_ids(documented_operations(routes))
    assert operation_ids(documented_operations(list(reversed(routes)))) == forward
    assert openapi(routes)["paths"] == openapi(list(reversed(routes)))["paths"]


def test_every_array_schema_names_its_items(document):
    """OpenAPI 3.0 requires `items` beside `type: array` (openapi-spec-validator lets it pass; client
    generators such as openapi-python-client then drop the operation): request bodies that leave it
    out get `items: {}`."""

    def arrays_without_items(schema, where):
        if isinstance(schema, list):
            return [found for i, item in enumerate(schema) for found in arrays_without_items(item, f"{where}/{i}")]
        if not isinstance(schema, dict):
            return []
        here = [where] if schema.get("type") == "array" and "items" not in schema else []
        return here + [found for k, v in schema.items() for found in arrays_without_items(v, f"{where}/{k}")]

    assert arrays_without_items(document, "#") == []
    assert document["paths"]["/dbs/{db_id}/sql"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["params"]["oneOf"][0] == {"type": "array", "items": {}}
