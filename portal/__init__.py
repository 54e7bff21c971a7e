"""The customer side above hosts and operations: portal pages and widgets, jail requests with
their placement preview and NOC approval, provisioning through the operations engine,
self-service, notices and customer impact. Tenancy itself (models, scope) lives in customers."""
