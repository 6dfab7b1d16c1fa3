"""The `radi` console command: runs the binary bundled in the package ($RADI_CLI wins)."""
import os
import sys

from ._lib import cli_path


def main() -> None:
    path = str(cli_path())
    if not os.access(path, os.X_OK):
        sys.stderr.write(f"radi: the radi binary is missing at {path} (reinstall the package "
                         "or set RADI_CLI)\n")
        sys.exit(1)
    os.execv(path, [path] + sys.argv[1:])


if __name__ == "__main__":
    main()
