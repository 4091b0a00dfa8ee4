"""A user's activation file that fails to import (tests/test_custom_activation.py)."""

raise RuntimeError("this file is broken on purpose\nand says more on a second line")
