"""Sampling's pure logic: estimates from items sampled with known inclusion probabilities."""
