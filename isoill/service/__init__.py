"""The service layer: carries out what the core decides (store writes, the handoff to
delivery, logs and metrics), awaiting the store but owning no socket and no driver."""
