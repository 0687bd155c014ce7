"""The ground floor: the types every layer shares (a channel, later a zone and a session).

It imports nothing of ours, and everything may import it (pyproject's layers).
"""
