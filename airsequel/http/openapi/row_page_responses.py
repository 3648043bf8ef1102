"""What the row pages, the schema pages and the table page's foreign-key links answer
(airsequel/http/routes/row_pages.py): the pages as HTML, the links as JSON."""

from __future__ import annotations

from dataclasses import replace

from airsequel.http.openapi.declarations import Declared, declare, json, page
from airsequel.http.openapi.schemas import STR, array, nullable, record

ROW_QUERY = {
    "rowid": {"type": "string", "description": "The row's rowid (a whole number)"},
    "key": {
        "type": "string",
        "description": 'The row\'s key as a JSON object: its primary key or UNIQUE columns and values, e.g. {"id": 12}',
    },
}
FOREIGN_KEYS = json(
    record(
        foreignKeys=array(
            record(columns=array(STR), table=STR, targetColumns=array(STR), labelColumn=nullable(STR)),
        ),
        primaryKey=array(STR),
    ),
    description="The table's foreign keys, what each references and the label column there (or null)",
)

RESPONSES: dict[tuple[str, str], Declared] = {}
for base in ("/dbs/{db_id}", "/readonly/{readonly_id}"):
    RESPONSES[("GET", f"{base}/rows/{{table}}")] = replace(page(errors=(400, 403, 404, 422)), query=ROW_QUERY)
    RESPONSES[("GET", f"{base}/schema/{{table}}")] = page(errors=(403, 404, 422))
    RESPONSES[("GET", f"{base}/foreign-keys/{{table}}")] = declare(FOREIGN_KEYS, errors=(401, 403, 404, 422))
