"""What a job leaves in Redis, read back: its record, the owner's listing, a crawl's or batch's pages."""
