"""``python -m caviar.cli``: the ``caviar`` command."""

from caviar.cli import main

main()
