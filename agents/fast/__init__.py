"""An optional optimisation, not the algorithm: the DQN update and greedy
inference in NumPy for small MLPs (``dqn_step``, ``mlp``) and BLAS thread
control (``blas``). ``rlbt.agents.dqn`` holds the plain torch update; a test
(tests/agents/test_fast_paths.py) proves the two agree."""
