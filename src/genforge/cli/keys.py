"""``genforge keys add NAME [--api-keys FILE]``: create an API key for ``genforge serve``.

The key is printed once, on stdout, and only its salted hash is stored; there is no command that shows
it again (add a new key instead).
"""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, err_console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    add = sub.add_parser("add", help="create a key: printed once, stored only as a salted hash")
    add.add_argument("name", help="who the key is for (letters, digits, '_', '.', '-')")
    add.add_argument("--api-keys", metavar="FILE", help="key file (default ~/.config/genforge/api-keys.json)")
    add_json(add)
    add.set_defaults(handler=run_add)


def run_add(args: argparse.Namespace) -> int:
    from genforge.serve.keys import add_key

    key, path = add_key(args.name, args.api_keys)
    if args.json:
        print_json({"name": args.name, "key": key, "api_keys": str(path)})
        return 0
    err_console().print(f"key {args.name!r} added to {path}; it is shown once, store it now:")
    print(key)
    return 0
