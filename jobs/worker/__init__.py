"""The worker process: arq's Worker with instant pickup and leases, its context, job functions, heartbeat, cleanup."""
