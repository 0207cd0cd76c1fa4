"""monitor: a news and feed monitoring daemon.

The package mirrors the pipeline ``schedule -> fetch -> parse -> extract -> match -> store -> notify``;
``pipeline`` runs one source through the stages and ``runtime`` / ``cli`` wire everything together.
"""

__version__ = "0.1.0"
