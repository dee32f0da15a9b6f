"""OpenTelemetry ingestion: OTLP trace bodies decoded, GenAI spans read as interactions."""
