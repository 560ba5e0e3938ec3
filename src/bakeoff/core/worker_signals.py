"""Imported first in the workers' forkserver: Ctrl-C in a terminal reaches every process of its
group, and the driver alone answers it (exit 130; its workers are ended). The forkserver, busy
importing the ladder's libraries, and every worker it forks (which inherit this setting) ignore
it, so no worker prints a KeyboardInterrupt traceback of its own. Imported anywhere else (a test
collecting every module, say), it changes nothing."""

import signal
import sys

if any("multiprocessing.forkserver" in arg for arg in getattr(sys, "orig_argv", ())):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
