"""The data directory, spelled in one place.

    control.sqlite               the control plane (registry, users, teams, tokens, settings)
    server.lock                  flock-ed by the one server serving the directory (core/storage/data_dir_lock.py)
    secret_key                   the generated cookie-signing key (when none is configured)
    dbs/<file_key>/main.sqlite   one hosted database; `file_key` is internal and never changes
    dbs/<file_key>/uploaded.json what an uploaded file was (size, header, SHA-256) while it is unchanged
    dbs/<file_key>/assets/<id>   files uploaded as the database's assets
    dbs/<file_key>/epoch         in a cluster: the ownership epoch this copy of the file belongs to
    tmp/                         uploads and snapshots in progress (same filesystem: renames are atomic)
    exports/                     finished export files until they expire
    outbox/                      password-reset messages (unless another outbox is configured)
    litestream.yml, .sock        the replication daemon's configuration and control socket

A replica (Litestream) mirrors it: `control` and `dbs/<file_key>` under the replica URL (in a cluster,
`dbs/<file_key>/epochs/<epoch>`: one prefix per ownership epoch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTROL_FILE = "control.sqlite"
DATABASE_FILE = "main.sqlite"


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @property
    def control_file(self) -> Path:
        return self.root / CONTROL_FILE

    @property
    def secret_key_file(self) -> Path:
        return self.root / "secret_key"

    @property
    def dbs_dir(self) -> Path:
        return self.root / "dbs"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def default_outbox_dir(self) -> Path:
        return self.root / "outbox"

    @property
    def litestream_config(self) -> Path:
        return self.root / "litestream.yml"

    @property
    def litestream_socket(self) -> Path:
        return self.root / "litestream.sock"

    def database_dir(self, file_key: str) -> Path:
        return self.dbs_dir / file_key

    def database_file(self, file_key: str) -> Path:
        return self.dbs_dir / file_key / DATABASE_FILE

    def epoch_marker(self, file_key: str) -> Path:
        """In a cluster: the ownership epoch the file in this directory belongs to."""
        return self.dbs_dir / file_key / "epoch"

    def assets_dir(self, file_key: str) -> Path:
        return self.dbs_dir / file_key / "assets"


def replica_path(file_key: str | None, epoch: int = 0, *, handoff: str | None = None) -> tuple[str, ...]:
    """Where a file lives under the replica URL: the control plane, or one database. In a cluster each
    ownership epoch of a database replicates under its own prefix, so that two nodes never write one
    replica (epoch 0, a server of one node, keeps the path it always had). `handoff`: the snapshot a
    planned move leaves for the epoch's new owner, taken while nothing writes (its name is unique to
    that move, and recorded with the epoch only when the move commits)."""
    if file_key is None:
        return ("control",)
    if handoff:
        return ("dbs", file_key, "epochs", f"{epoch}-handoff-{handoff}")
    return ("dbs", file_key) if epoch == 0 else ("dbs", file_key, "epochs", str(epoch))
