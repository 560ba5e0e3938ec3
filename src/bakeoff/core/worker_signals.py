"""Imported first in the workers' forkserver (never in the driver): Ctrl-C in a terminal reaches
every process of its group, and the driver alone answers it (exit 130; its workers are ended).
The forkserver, busy importing the ladder's libraries, and every worker it forks (which inherit
this setting) ignore it, so no worker prints a KeyboardInterrupt traceback of its own."""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
