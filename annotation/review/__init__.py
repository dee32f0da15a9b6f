"""Review's pure logic: how a reviewed item settles, and what a check should have caught."""
