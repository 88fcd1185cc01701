"""Sweeps: a grid of params x seeds x datasets (``spec``), one record per run
(``runs``), a local process pool or Ray (``executors``), the driver that resumes
and gathers (``driver``), the summary and plots (``summary``, ``plot``) and
``rlbt sweep`` (``cli``)."""
