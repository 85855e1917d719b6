"""The two HTTP backends under the fetcher, each connecting only where the address guard says."""
