"""``python -m smartlicensing`` runs the same command as the ``smartlicensing`` script."""

from smartlicensing.cli import main

main()
