"""Subcommands of the other processes.

Each module has NAME, add_parser(sub) and run(args, settings).
"""
