"""A cluster of nodes: each hosted database has one owner node, which runs its SQL in-process; the
control plane (PostgreSQL) is shared and every file replicates to object storage (docs/cluster.md).

    leases.py     each node's lease in the control plane, and the fence that stops it serving in time
    placement.py  the nodes as the control plane lists them, and where a new database goes
    takeover.py   the databases of a node whose lease ran out, given to the live nodes (epoch + 1)
    adoption.py   a node's copies of the files it owns, at their epoch (restored from the replica)
    gates.py      requests in flight per database, held back while the database moves
    moves.py      planned moves of one database, and draining a node
    node.py       the node itself: its loop, its routing answers, the admin view
"""
