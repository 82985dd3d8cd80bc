"""Shared test setup: import synthaug from workflow/ without installing it, and keep TensorFlow quiet."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
