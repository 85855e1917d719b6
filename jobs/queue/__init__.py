"""The queue under the jobs (arq's layout, written directly): enqueue, claim, priorities, payloads, stats."""
