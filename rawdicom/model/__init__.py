"""The information model: files -> records -> patients/studies/series -> stacks -> volumes."""
