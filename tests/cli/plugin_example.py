"""A plug-in command for the tests of ``gradcheck_suite.cli.PLUGIN_COMMANDS``."""
import sys

sys.modules[__name__].imported = True


def add_parser(subparsers):
    p = subparsers.add_parser("hello", help="say hello")
    p.add_argument("who")
    return p


def main(args):
    print(f"hello {args.who}")
    return 1 if args.who == "error" else 0
