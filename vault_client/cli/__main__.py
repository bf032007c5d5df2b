"""``python -m vault_client.cli``."""

from . import main

main()
