"""Plan -> files: ds_config.json, hostfile, launch command, report. Pure: runs nothing."""
