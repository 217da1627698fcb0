"""Published DNS policy records, their grammars and evaluation: SPF (RFC 7208; check_host() and the pyspf
bridge), DKIM keys (RFC 6376), DMARC (RFC 9989), MTA-STS policies (RFC 8461), DNS blocklists (RFC 5782)."""
