"""A simulated ISO 18626 peer (``isoill peer --protocol iso18626``): a supplier that answers
Requests and RAMs by scenario, or a requester that takes a loan through to its end, both
over HTTP, recording every exchange. It tests the ISO 10161 ↔ 18626 bridge end to end and
lets people try an 18626 partner by hand (docs/tools.md).

- :mod:`.messages`: the messages as the peer sees them, whatever the schema version;
  :mod:`.reading` and :mod:`.writing` (:mod:`.as_v1_2`, :mod:`.as_v2021`) convert them.
- :mod:`.scenario`: what a supplier does with a Request, from the token that names it.
- :mod:`.supplier`, :mod:`.requester`: what each role decides, without I/O.
- :mod:`.http`: the endpoint and the client, and the record of each exchange.
- :mod:`.peer`: the two roles running (``SimulatedSupplier``, ``SimulatedRequester``).
- :mod:`.orders`: the requests file a requester sends from.
"""
