"""Hosted files on disk: their lifecycle (create, upload, replace, duplicate, delete), snapshots, continuous replication and backups."""
