"""rlbt.engine: data, the backtest runner, results, outputs, plugins, sweeps
and the CLI. It never imports torch, ``rlbt.agents`` or ``rlbt.strategies``
statically: strategies are reached by name through ``rlbt.engine.plugins``.

The public API is ``rlbt`` itself (``rlbt.backtest``, ``rlbt.load_prices``, ...).
"""
