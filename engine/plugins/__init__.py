"""Finding strategies and agents by name: built-ins, entry points,
``module:Class`` and ``file.py:Class`` (``loader``, ``registry``), and
``rlbt new`` (``scaffold`` with its ``templates``)."""
