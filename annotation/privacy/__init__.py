"""Privacy at ingestion (redaction), and what erasure and retention need that is pure logic."""
