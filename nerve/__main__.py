"""`python -m nerve`: the same as the `nerve` command."""

from nerve.launcher import main

if __name__ == "__main__":
    main()
