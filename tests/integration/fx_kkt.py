"""KKT adapter emulator fixtures (see tests/peers/kkt_peer.py)."""
