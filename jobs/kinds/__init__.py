"""What each job kind does once it runs: scrape, crawl, batch and ask, and the work on one page."""
