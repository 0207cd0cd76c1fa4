"""Starts dispatcher processes in milliseconds: imports ``monitor`` once, then forks one process per request.

Run as ``python -m tests.alerts._zygote``. It reads tab-separated commands on stdin and answers one line
on stdout for each:

* ``spawn<TAB>LOG<TAB>ARG...``: fork a child that runs ``monitor ARG...`` (the real CLI, in a fresh
  process with its own database connections) with stdout and stderr going to LOG; answers its pid.
* ``wait<TAB>PID``: reap the child; answers its exit code (negative: killed by that signal).

The zygote itself opens no connection, thread or event loop before forking, so each child starts clean.
A test kills children with SIGKILL by pid, exactly as if they had been started with ``python -m monitor``.
"""

from __future__ import annotations

import os
import sys


def _child(log: str, args: list[str]) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    code = 0
    try:
        from monitor.cli import app

        app(args, prog_name="monitor")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def main() -> None:
    # The expensive imports, done once before any fork.
    import monitor.cli
    import monitor.runtime

    del monitor

    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *rest = line.rstrip("\n").split("\t")
        if cmd == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(rest[0], rest[1:])
            print(pid, flush=True)
        elif cmd == "wait":
            _pid, status = os.waitpid(int(rest[0]), 0)
            print(os.waitstatus_to_exitcode(status), flush=True)


if __name__ == "__main__":
    main()
