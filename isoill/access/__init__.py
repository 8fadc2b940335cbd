"""Who may connect and speak: the peers a connection is admitted for (by source address and
client certificate), their Prompt-1 credentials, the listeners' TLS, and the check that each
APDU names one of the connection's own peers as its sender.
"""
