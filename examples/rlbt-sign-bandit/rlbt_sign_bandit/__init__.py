"""The sign-bandit strategy for rlbt."""
