"""``python -m bayflow`` is the ``bayflow`` command."""

from bayflow.cli import main

main()
