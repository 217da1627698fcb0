"""The loopback mail lab: real servers (DNS, SMTP, IMAP, POP3) that the tests and ``mailcheck demo`` start.

They answer honestly and can be told to play faulty peers. They listen on loopback only.
"""
