"""Mystery shopping: structured reports by shoppers posing as customers, scored against versioned templates."""
