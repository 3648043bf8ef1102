"""The control plane: the registry of hosted databases, users, teams and tokens, and the caches that follow its changes."""
