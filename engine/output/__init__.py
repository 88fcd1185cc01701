"""What a run leaves: the run folder (``run_folder``) written atomically
(``atomic``), the PNG report (``report``), console tables (``console``) and
progress bars (``progress``)."""
