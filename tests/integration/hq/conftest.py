"""posagent-hq fixtures live in hqfx.py (a module name of its own: the
tests import helpers from it, and "conftest" is the parent directory's)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hqfx import hq_db, hq_pki, hqd, pg_server  # noqa: E402,F401
