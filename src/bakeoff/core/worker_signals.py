"""Imported first in the workers' forkserver: Ctrl-C in a terminal reaches every process of its
group, and the driver alone answers it (exit 130; its workers are ended). The forkserver, busy
importing the ladder's libraries, and every worker it forks (which inherit this setting) ignore
it, so no worker prints a KeyboardInterrupt traceback of its own. When the driver ends, the
forkserver ends at once, without freeing the libraries it loaded one by one (half a second
that a caller waiting for the driver's output to close would wait too). Imported anywhere else
(a test collecting every module, say), it changes nothing."""

import atexit
import os
import signal
import sys

if any("multiprocessing.forkserver" in arg for arg in getattr(sys, "orig_argv", ())):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(os._exit, 0)  # registered first, so it runs after every other exit handler
