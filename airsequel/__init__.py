"""airsequel: self-hosted SQLite databases with an instant JSON API, POST /sql and GraphQL."""

__version__ = "0.1.0"
