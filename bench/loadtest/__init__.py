"""`make load`: the live server under 32 concurrent users for 60 s (locust, headless)."""
