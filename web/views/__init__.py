"""Pages of the web UI, one module per concern. Each view parses, calls one service or
selector, and renders; permissions are checked here, the work happens in the services."""
