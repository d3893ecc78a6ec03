"""mist_ds: analytic auto-configuration of DeepSpeed training (parallelism x memory optimisations)."""

__version__ = "0.1.0"
