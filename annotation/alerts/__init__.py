"""Alert rules' pure logic: the spans a rule looks at, its metric over hourly sums, and its condition.

Free of Django: `annotation.services.alerts` loads the rollups into hourly arrays and calls these.
"""
