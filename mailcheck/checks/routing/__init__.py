"""DNS and MX: where mail for a domain goes (MX hosts and their addresses, reverse DNS) and whether those answers
are DNSSEC-secure."""
