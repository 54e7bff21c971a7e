"""API serializers: inventory (read/write through the inventory import), observed state and
cluster health (read-only), alerts (read, plus ack/resolve bodies)."""
