"""``python -m privacy_service`` is the ``privacy-service`` command."""

from privacy_service.cli import main

main()
