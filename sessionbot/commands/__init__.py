"""Subcommands of the other processes; each module has NAME, add_parser(sub) and run(args, settings)."""
