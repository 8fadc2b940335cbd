"""ISO 10161 over TCP: raw BER APDUs, the listeners peers connect to and the links to targets."""
