"""The LSTM forecaster (``forecaster``), its causal sequence memory
(``sequence_memory``) and offline pre-training on a table (``fit``)."""
