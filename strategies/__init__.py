"""backtrader strategies: the bridge from bars to agents, and the baselines."""
