"""``python -m vemprof`` runs the command line."""

from vemprof.cli import main

main()
