"""The run's logger: prints, and appends to train.log when it has a file. Passed to whoever logs."""
from __future__ import annotations


class Logger:
    def __init__(self, path=None):
        self.file = open(path, "a") if path else None

    def __call__(self, *a):
        msg = " ".join(str(x) for x in a)
        print(msg, flush=True)
        if self.file:
            self.file.write(msg + "\n")
            self.file.flush()

    def close(self):
        if self.file:
            self.file.close()
            self.file = None
