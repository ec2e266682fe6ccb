"""FarmBench: generated farm instances, baselines, lower bounds and one table to compare them."""
