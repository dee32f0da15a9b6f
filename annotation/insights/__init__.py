"""Insights: metrics over hourly rollups, comparisons with honest statistics, slices."""
