"""Transport and TLS: the SMTP, IMAP and POP3 sessions (connection, STARTTLS, certificate, TLS scan), the policies
that protect them (MTA-STS, DANE, TLS-RPT) and the end-to-end roundtrip."""
