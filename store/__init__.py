"""The SQL store: models, repositories, migrations. Imports nothing else of ours."""

from store.db import Store

__all__ = ["Store"]
