"""Root pytest configuration: runs before Django's settings are read."""

import os

os.environ.setdefault("DJANGO_ENV", "test")
