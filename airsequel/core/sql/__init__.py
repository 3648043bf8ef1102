"""SQL against one hosted file: connections and their limits, the guard (authorizer), the runner, scripts, introspection and schema changes. Depends on nothing else in the core."""
