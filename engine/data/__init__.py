"""Price data: loading and validation (``prices``, ``validate``), the backtrader
feed and bar frequency (``feed``), the bundled datasets (``bundled``) and
``rlbt data``'s summary (``summary``)."""
