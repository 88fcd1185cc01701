"""PyTorch agents that learn online. Pure NumPy + PyTorch: nothing here knows
backtrader or pandas, so any loop that hands over observations and rewards can
drive them."""
