"""The core of the server: hosting of SQLite files, guarded SQL execution, the control plane.

Nothing in this package knows about HTTP; routes in `airsequel.http` call into it.
"""
