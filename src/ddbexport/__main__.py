"""``python -m ddbexport``."""

from ddbexport.cli.main import main

main()
