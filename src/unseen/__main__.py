import sys

from unseen.signals import exit_quietly_on_signals

with exit_quietly_on_signals():  # Ctrl-C while the command loads: one line, no traceback
    from unseen.cli import main

sys.exit(main())
