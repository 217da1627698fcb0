"""Network layer: the one DNS client and the shared line/TLS client."""
