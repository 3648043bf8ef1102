"""What server and team admins manage: server settings at run time, environment variables, the audit log."""
