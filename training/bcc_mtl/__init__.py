"""BCC multitask model training, by phase: config, data, model, augment, losses, loop, metrics, calibration, heads, export, pipeline."""
