"""`python -m bot` does what the `coordbot` console script does."""

from bot.cli import main

raise SystemExit(main())
