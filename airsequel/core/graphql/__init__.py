"""GraphQL APIs generated per hosted database (conventions: docs/graphql.md).

names.py     reversible encoding of SQLite names into GraphQL names
types.py     SQLite declared types to GraphQL scalars
bindings.py  access modes, and the map from GraphQL names to real tables and columns
schema.py    building a graphql-core schema (per file, per access mode) and its table map
selection.py flattening a validated selection set (fragments, @skip/@include, aliases)
limits.py    depth, estimated cost and insert-only rules, checked on the document before any SQL
sql.py       filters, ordering and paging as SQL with bound parameters
fetch.py     running one root field as SQL and shaping rows (relationships batched per level),
             measuring the response against max_response_bytes as it goes
cells.py     cell errors that fail only their cell (graphql-core's path), 64-bit integers
files.py     BLOB cells as file URLs, by rowid or by a one-column primary key
mutations.py inserts, upserts, updates, deletes with `returning`
schema_cache.py the schema per file, schema version and mode (built once, oversized files refused), documents
             and plans
plans.py     plans keyed on the query with its literals taken out: parsed and validated once per shape,
             the request's literals bound as typed variables
engine.py    the two execution paths (compiled, graphql-core), mutations as one transaction
"""
