"""Sender authentication: SPF, DKIM, DMARC (records and verdicts), whether an address may send for a domain, and
DNS blocklists."""
