"""HQ peer fixtures (see tests/peers/hq_peer.py)."""
