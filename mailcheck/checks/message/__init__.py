"""The message: a received message's header trace (hops, TLS, authentication results, spam verdicts)."""
