"""``python -m ddbexport``."""

from .cli import main

main()
