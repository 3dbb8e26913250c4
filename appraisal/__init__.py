"""The appraisal module: guidelines, metrics aggregated in SQL, and the engine that combines them."""
