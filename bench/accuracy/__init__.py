"""The accuracy suite: named GPU cases, their runner, and the report that re-scores the cost model."""
