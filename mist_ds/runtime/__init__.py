"""The executor: model zoo with tensor parallelism, the explicit-partition pipeline module, the
DeepSpeed engine set-up and the measured training loop. Importing this package does not touch
torch.distributed or CUDA; `blocks.TransformerBlock(spec)` works in a plain process."""
