"""A database's content without SQL: tables and columns, records, assets and charts."""
