"""The sans-IO core: the gateway's decisions and the values they work on, with no I/O."""
