"""Turning uploads into hosted files: CSV import (with its helper process) and checks of uploaded SQLite files."""
