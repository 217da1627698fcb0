"""DMARC aggregate reports (RFC 7489 appendix C, DMARCbis), TLS-RPT reports (RFC 8460) and DMARC failure
reports (RFC 6591): read from files, archives and messages without trusting them, merged per domain."""
