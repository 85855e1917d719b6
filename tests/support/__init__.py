"""Real parts for the tests: a Redis server, loopback HTTP servers, the app and a worker."""
