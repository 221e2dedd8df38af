"""`python -m qa` runs the CLI (the tests use it to run the installed code)."""

from qa.cli import main

main()
