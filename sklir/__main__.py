"""``python -m sklir``: see :mod:`sklir.cli`."""

from sklir.cli import main

raise SystemExit(main())
