"""Tools for integration work around the gateway: sending APDUs and judging the replies
(:mod:`isoill.tools.send`), a simulated ILL peer answering by script
(:mod:`isoill.tools.peer`), and replaying captures against a gateway
(:mod:`isoill.tools.replay`)."""
