"""Browser tests: Debian Chromium driven by Playwright (marker `browser`)."""
