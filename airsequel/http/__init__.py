"""The HTTP layer: Starlette routes that parse, authorize, call the core and serialize."""
