"""GPU node profiler: measurements (torch, imported lazily per module) -> HardwareProfile.

Pure parts (fit, grids, assemble) import no torch; the measuring modules (compute, comm, layers,
interference, cpu_adam, timing, runner) are imported only by the CLI on the node being profiled.
"""
