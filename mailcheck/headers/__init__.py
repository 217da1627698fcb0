"""Header parsing for trace analysis and authentication results: pure, bounded, never raising on input."""
