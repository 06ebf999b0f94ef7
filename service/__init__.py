"""The HTTP shell around the router: app factory, schemas, routes, error table, CLI."""
