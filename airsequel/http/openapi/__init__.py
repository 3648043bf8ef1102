"""The OpenAPI 3.0 description of the server: document.py builds it from the routing table and the
responses declared beside it (schemas.py: the named shapes; *_responses.py: each route's answers)."""
