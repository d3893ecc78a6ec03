"""Session 73's A/B (bench/calls/s73_liger_padding.sh): with this directory first on PYTHONPATH the runtime's Liger loss
walks only the real columns of a padded vocabulary, as before runtime/liger_loss.py walked_columns."""
import mist_ds.runtime.liger_loss as _liger

_liger.walked_columns = lambda logits, columns: columns
