"""Captured APDU traffic: reading raw BER, hex text, pcap and pcapng captures
(:mod:`isoill.capture.reader`), and the daemon's own recording of every APDU in and out as
pcapng or pcap (:mod:`isoill.capture.recorder`). The formats are in docs/capture.md.

Both use dpkt for the file formats and the Ethernet, IP and TCP headers.
"""
