"""Rows written out as CSV, JSON and XLSX, in batches (exports and table downloads)."""
